"""One sandbox for the whole test session, seeded from the tests' inventory (outpost-lz with pre-existing ALBs)."""

from __future__ import annotations

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
    yield box
    box.down()


@pytest.fixture(scope="session")
def cli() -> Callable[..., subprocess.CompletedProcess]:
    """Run ``python -m sandbox ARGS`` from the repo root, as a user would."""

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sandbox", *args], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=60)

    return run

