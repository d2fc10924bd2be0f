"""Read an Ansible inventory the way the playbooks see it: through ``ansible-inventory --list``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

# group name -> {host name -> that host's merged vars (group vars included)}
Groups = dict[str, dict[str, dict[str, Any]]]


class InventoryError(RuntimeError):
    """The inventory could not be read, or lacks what the sandbox needs."""


def read_inventory(path: str | Path) -> Groups:
    """Every group of the inventory at ``path`` with its hosts' vars.

    Runs ``ansible-inventory`` from the repo root so the checkout's ansible.cfg applies; hosts of
    child groups count as hosts of the parent group, as in Ansible.
    """
    path = Path(path).resolve()
    command = [ansible_inventory_command(), "-i", str(path), "--list"]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise InventoryError(f"ansible-inventory could not read {path}: {done.stderr.strip()}")
    listing = json.loads(done.stdout)
    hostvars = listing.get("_meta", {}).get("hostvars", {})
    groups = [name for name in listing if name != "_meta"]
    return {group: {host: hostvars.get(host, {}) for host in group_hosts(listing, group)} for group in groups}


def ansible_inventory_command() -> str:
    """The ``ansible-inventory`` of the running Python's environment, else the one on PATH."""
    beside_python = Path(sys.executable).parent / "ansible-inventory"
    found = str(beside_python) if beside_python.exists() else shutil.which("ansible-inventory")
    if not found:
        raise InventoryError("ansible-inventory not found; install ansible-core in this environment.")
    return found


def group_hosts(listing: dict[str, Any], group: str) -> list[str]:
    """Hosts of ``group`` and of its child groups, in inventory order, each once."""
    entry = listing.get(group, {})
    hosts = list(entry.get("hosts", []))
    for child in entry.get("children", []):
        hosts += [host for host in group_hosts(listing, child) if host not in hosts]
    return hosts
