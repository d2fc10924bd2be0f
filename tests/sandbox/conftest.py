"""One sandbox for the whole test session, seeded from the tests' inventory (outpost-lz with pre-existing ALBs), its
clusters given their node groups as deploy.yml gives them (playbooks/sites.yml: self-managed nodes on the Outpost and in
the Local Zone)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from sandbox import Sandbox

REPO_ROOT = Path(__file__).resolve().parents[2]
INVENTORY = REPO_ROOT / "tests" / "sandbox" / "inventory"


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    box = Sandbox(tmp_path_factory.mktemp("sandbox"))
    box.up([INVENTORY])
    nodes = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "playbooks/sites.yml",
                            "-i", str(INVENTORY), "-e", f"@{box.vars_file}"],
                           cwd=REPO_ROOT, env={k: v for k, v in os.environ.items() if k != "EKS_HA_TIMELINE_FILE"},
                           capture_output=True, text=True, check=False)
    if nodes.returncode != 0:
        box.down()
        pytest.fail(f"playbooks/sites.yml failed:\n{nodes.stdout[-4000:]}{nodes.stderr[-2000:]}")
    yield box
    box.down()


@pytest.fixture(scope="session")
def cli() -> Callable[..., subprocess.CompletedProcess]:
    """Run ``python -m sandbox ARGS`` from the repo root, as a user would."""

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sandbox", *args], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=60)

    return run

