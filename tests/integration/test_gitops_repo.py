"""gitops_repo: the Molecule scenario, and a site dropped from the inventory on a later run.

Everything runs on this machine against local bare repositories: no sandbox, no network.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
# The virtual environment's tools (molecule, ansible-playbook), as `make test` puts them first on PATH.
BIN = Path(sys.executable).parent
RECAP = re.compile(r"^localhost\s*:\s*ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=0\s+failed=0", re.MULTILINE)

PLAYBOOK = """\
- name: Render and publish the GitOps repository
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Apply the role
      ansible.builtin.include_role:
        name: eks_ha.resilience.gitops_repo

    - name: Report the role's outputs
      ansible.builtin.debug:
        msg: "OUTPUTS {{ {'commit': gitops_repo_commit, 'paths': gitops_repo_paths} | to_json }}"
"""

SITES = {
    "outposts": {"name": "outposts", "cluster_name": "eks-ha-outposts", "region": "us-west-2",
                 "vpc_id": "vpc-0a1b2c3d4e5f60001", "ingress_subnets": ["subnet-0a1b2c3d4e5f60011"]},
    "localzone": {"name": "localzone", "cluster_name": "eks-ha-localzone", "region": "us-east-1",
                  "ingress_subnets": ["eks-ha-localzone-bos"], "values": {"enableWaf": False}},
}


def tool_env() -> dict[str, str]:
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", PY_COLORS="0",
               PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("EKS_HA_TIMELINE_FILE", None)
    return env


def git(*args: str, cwd: Path) -> str:
    completed = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return completed.stdout.strip()


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare repository that already holds a file the role does not own."""
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(bare)], check=True)
    seed = tmp_path / "seed"
    subprocess.run(["git", "clone", "--quiet", str(bare), str(seed)], check=True, capture_output=True)
    (seed / "README.md").write_text("Flux repository of the outpost-lz architecture.\n")
    git("add", "README.md", cwd=seed)
    git("-c", "user.name=Someone", "-c", "user.email=someone@example.com", "commit", "--quiet", "-m", "Start",
        cwd=seed)
    git("push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=seed)
    return bare


def render(tmp_path: Path, remote: Path, sites: list[str]) -> tuple[int, dict]:
    """Run the role for the named sites; return the number of changed tasks and the role's outputs."""
    playbook = tmp_path / "gitops.yml"
    playbook.write_text(PLAYBOOK)
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps({
        "gitops_repo_remote": remote.as_uri(),
        "gitops_repo_workdir": str(tmp_path / "clone"),
        "gitops_repo_sites": [SITES[name] for name in sites],
        "gitops_repo_apps": ["game-2048"],
        "gitops_repo_verify": False,  # molecule/gitops_repo (run by `make molecule`) builds the kustomizations
    }))
    completed = subprocess.run([str(BIN / "ansible-playbook"), str(playbook), "-e", f"@{variables}"],
                               cwd=REPO, env=tool_env(), capture_output=True, text=True, check=False, timeout=120)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-6000:]
    recap = RECAP.search(output)
    outputs = re.search(r'"OUTPUTS (\{.*\})"', output)
    assert recap and outputs, output[-6000:]
    return int(recap["changed"]), json.loads(outputs[1].replace('\\"', '"'))


def test_dropping_a_site_prunes_its_directories_in_one_commit(tmp_path, remote):
    changed, first = render(tmp_path, remote, ["outposts", "localzone"])
    assert changed > 0
    assert first["paths"] == {"outposts": "./clusters/outposts", "localzone": "./clusters/localzone"}
    assert git("rev-parse", "main", cwd=remote) == first["commit"]
    assert git("rev-list", "--count", "main", cwd=remote) == "2"  # the seed commit and the role's
    tree = git("ls-tree", "-r", "--name-only", "main", cwd=remote).splitlines()
    assert {"apps/localzone/kustomization.yaml", "infrastructure/localzone/kustomization.yaml",
            "clusters/localzone/kustomization.yaml", "clusters/localzone/flux-system/apps.yaml",
            "README.md"} <= set(tree)

    changed, second = render(tmp_path, remote, ["outposts"])
    assert changed > 0
    assert second["paths"] == {"outposts": "./clusters/outposts"}
    assert git("rev-parse", "main", cwd=remote) == second["commit"]
    assert git("rev-list", "--count", "main", cwd=remote) == "3"  # exactly one more commit
    assert git("rev-parse", "main^", cwd=remote) == first["commit"]
    tree = set(git("ls-tree", "-r", "--name-only", "main", cwd=remote).splitlines())
    assert not [path for path in tree if "localzone" in path.split("/")]
    assert {"README.md", "apps/outposts/kustomization.yaml", "clusters/outposts/kustomization.yaml"} <= tree
    # The commit only removes the dropped site's files and updates the list of rendered files.
    diff = git("diff", "--name-status", "--no-renames", "main^", "main", cwd=remote).splitlines()
    assert sorted(diff) == sorted(
        ["M\t.gitops_repo.yml"]
        + [f"D\t{path}" for path in ("apps/localzone/kustomization.yaml", "clusters/localzone/kustomization.yaml",
                                     "clusters/localzone/flux-system/apps.yaml",
                                     "clusters/localzone/flux-system/infrastructure.yaml",
                                     "infrastructure/localzone/kustomization.yaml")])
    # The clone has no directory left for the dropped site either.
    clone = tmp_path / "clone"
    for directory in ("apps/localzone", "infrastructure/localzone", "clusters/localzone"):
        assert not (clone / directory).exists()
    assert (clone / "README.md").is_file()
