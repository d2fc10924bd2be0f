"""gitops_repo: a site dropped from the inventory on a later run, and a Karpenter site reconciled by Flux.

Everything runs on this machine against local bare repositories; the Karpenter test also starts a sandbox.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client, config

from sandbox.client import Sandbox

from .conftest import with_node_groups

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


FLUX_PLAYBOOK = """\
- name: Render and publish the GitOps repository, then point the cluster's Flux at its path
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Apply the gitops_repo role
      ansible.builtin.include_role:
        name: eks_ha.resilience.gitops_repo

    - name: Apply the flux role
      ansible.builtin.include_role:
        name: eks_ha.resilience.flux
      vars:
        flux_git_path: "{{ gitops_repo_paths[flux_site] }}"
"""


def ready(obj: dict | None) -> bool:
    return bool(obj) and any(c.get("type") == "Ready" and c.get("status") == "True"
                             for c in (obj.get("status") or {}).get("conditions") or [])


def test_karpenter_site_runs_its_apps_on_karpenter_nodes_through_flux(tmp_path):
    """A Local Zone site with Karpenter at 2 replicas: Flux installs it, applies its pools, and the app's pods run
    on the nodes Karpenter makes for them (nodes of the NodePool default only)."""
    sandbox = Sandbox(tmp_path / "sandbox")
    try:
        sandbox.up(["inventories/outpost-lz"])
        with_node_groups(sandbox, "inventories/outpost-lz")
        site = {"name": "localzone", "cluster_name": "eks-ha-localzone", "region": "us-east-1",
                "ingress_subnets": ["eks-ha-localzone-bos"],
                "karpenter": {"replicas": 2, "zones": ["us-east-1-bos-1a"]}}
        playbook = tmp_path / "gitops-flux.yml"
        playbook.write_text(FLUX_PLAYBOOK)
        variables = tmp_path / "vars.json"
        variables.write_text(json.dumps({
            "gitops_repo_remote": sandbox.gitops_remote.as_uri(),
            "gitops_repo_workdir": str(tmp_path / "clone"),
            "gitops_repo_sites": [site],
            "gitops_repo_apps": ["game-2048"],
            "gitops_repo_verify": False,
            "flux_site": "localzone",
            "flux_kubeconfig": str(sandbox.kubeconfig),
            "flux_context": "eks-ha-localzone",
            "flux_manifests_file": str(REPO / "sandbox" / "manifests" / "flux-install.yaml"),
            "flux_git_url": sandbox.gitops_remote.as_uri(),
            "flux_wait_timeout": 60,
        }))
        completed = subprocess.run([str(BIN / "ansible-playbook"), str(playbook), "-e", f"@{variables}"],
                                   cwd=REPO, env=tool_env(), capture_output=True, text=True, check=False,
                                   timeout=150)
        assert completed.returncode == 0, (completed.stdout + completed.stderr)[-6000:]

        api = config.new_client_from_config(str(sandbox.kubeconfig), context="eks-ha-localzone")
        custom, apps, core = client.CustomObjectsApi(api), client.AppsV1Api(api), client.CoreV1Api(api)

        def state() -> dict:
            kustomizations = {k["metadata"]["name"]: k for k in custom.list_namespaced_custom_object(
                "kustomize.toolkit.fluxcd.io", "v1", "flux-system", "kustomizations")["items"]}
            deployments = apps.list_namespaced_deployment("karpenter").items
            karpenter = next((d for d in deployments if d.metadata.name == "karpenter"), None)
            nodes = {n.metadata.name: n.metadata.labels or {} for n in core.list_node().items}
            pods = core.list_namespaced_pod("game-2048").items if any(
                n.metadata.name == "game-2048" for n in core.list_namespace().items) else []
            return {
                "ready": sorted(name for name, k in kustomizations.items() if ready(k)),
                "not_ready": {name: (k.get("status") or {}).get("conditions") for name, k in kustomizations.items()
                              if not ready(k)},
                "karpenter_ready": (karpenter.status.ready_replicas or 0) if karpenter else None,
                "pods": [(p.metadata.name, p.status.phase, p.spec.node_name,
                          nodes.get(p.spec.node_name or "", {}).get("karpenter.sh/nodepool")) for p in pods],
            }

        deadline = time.monotonic() + 60
        current = state()
        while time.monotonic() < deadline:
            if ({"infrastructure", "karpenter-pools", "apps"} <= set(current["ready"])
                    and current["karpenter_ready"] == 2 and current["pods"]
                    and all(phase == "Running" and pool == "default" for _, phase, _, pool in current["pods"])):
                break
            time.sleep(1)
            current = state()
        assert {"flux-system", "infrastructure", "karpenter-pools", "apps"} <= set(current["ready"]), current
        assert current["karpenter_ready"] == 2, current
        assert current["pods"], current
        assert all(phase == "Running" and pool == "default" for _, phase, _, pool in current["pods"]), current

        # The NodePool and EC2NodeClass came from the site's overlay, and the app's pods ask for the pool's nodes.
        pool = custom.get_cluster_custom_object("karpenter.sh", "v1", "nodepools", "default")
        assert {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["us-east-1-bos-1a"]} in \
            pool["spec"]["template"]["spec"]["requirements"]
        node_class = custom.get_cluster_custom_object("karpenter.k8s.aws", "v1", "ec2nodeclasses", "default")
        assert node_class["spec"]["role"] == "KarpenterNodeRole-eks-ha-localzone"
        deployment = apps.read_namespaced_deployment("deployment-2048", "game-2048")
        assert deployment.spec.template.spec.node_selector == {"karpenter.sh/nodepool": "default"}
    finally:
        sandbox.down()
