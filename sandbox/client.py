"""Python API of the sandbox: start, seed, query, fail/recover and stop it (the CLI uses this).

    sandbox = Sandbox(".sandbox")
    sandbox.up(["inventories/outpost-lz"])
    sandbox.fail("outposts")
    sandbox.status()
    sandbox.database("eks-ha-lz-db")   # where the real MariaDB behind an inventory database listens
    sandbox.dms_delay(0.2)             # DMS waits 0.2 s before applying each change
    sandbox.down()
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterable

import boto3
import yaml

from sandbox.config import DEFAULT_TIME_SCALE, PROCESS_FILE, default_state_dir
from sandbox.inventory import REPO_ROOT
from sandbox.seed import DUMMY_CREDENTIALS, SeedResult, seed_inventory
from sandbox.state import UnknownSite

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
DATABASES_TIMEOUT = 90.0  # first start of a database: initialise its datadir, then start it


# What the sandbox gives playbooks instead of the Flux release's install.yaml (no internet here).
FLUX_INSTALL_MANIFESTS = Path(__file__).resolve().parent / "manifests" / "flux-install.yaml"


class SandboxError(RuntimeError):
    """The sandbox could not do what was asked; the message says why."""


class NotRunning(SandboxError):
    """No sandbox server runs for this state dir."""


class Sandbox:
    """One sandbox, identified by its state dir (``sandbox.json``, ``vars.yml``, ``server.log``)."""

    def __init__(self, state_dir: str | Path | None = None):
        self.state_dir = Path(state_dir or default_state_dir()).resolve()
        self._process: subprocess.Popen | None = None

    @property
    def process_file(self) -> Path:
        return self.state_dir / PROCESS_FILE

    @property
    def vars_file(self) -> Path:
        return self.state_dir / "vars.yml"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "server.log"

    @property
    def kubeconfig(self) -> Path:
        """Where the server writes the kubeconfig of every EKS cluster (one context per cluster)."""
        return self.state_dir / "kubeconfig"

    @property
    def endpoint_url(self) -> str:
        """The AWS endpoint of the running sandbox; raises NotRunning when there is none."""
        return self._running_info()["endpoint_url"]

    def running(self) -> bool:
        return self._live_info() is not None

    def up(self, inventories: Iterable[str | Path], port: int | None = None,
           time_scale: float | None = None, ga_deploy_seconds: float | None = None) -> dict[str, Any]:
        """Start the server unless it runs, seed every inventory (and start its databases), write vars.yml.

        Returns a summary of what was started, seeded and created.

        ``port``, ``time_scale`` and ``ga_deploy_seconds`` (model seconds a Global Accelerator change
        takes to deploy) apply only when a server is started (None: a free port, 0.05, 30).
        """
        started = not self.running()
        if started:
            self._start(port or 0, DEFAULT_TIME_SCALE if time_scale is None else time_scale, ga_deploy_seconds)
        results = [seed_inventory(inventory, self.endpoint_url) for inventory in inventories]
        databases = []
        for result in results:
            self.register_sites(result.registrations)
            databases.append(self.start_databases(result.databases) if result.databases else [])
        self._ensure_gitops_remote()
        self._write_vars()
        return self._summary(started, results, databases)

    def down(self) -> bool:
        """Stop the server (its state is lost); return whether one was running. Safe to repeat."""
        info = self._read_process_file()
        if info is None:
            return False
        was_running = self._answers(info) or is_server_process(info["pid"])
        if was_running:
            self._stop(info["pid"])
        self.process_file.unlink(missing_ok=True)
        return was_running

    def status(self) -> dict[str, Any]:
        """``running``, the endpoint, every site and every health check with its computed status."""
        info = self._live_info()
        if info is None:
            return {"running": False, "state_dir": str(self.state_dir)}
        report = self._get("/_sandbox/status")
        return {"running": True, "endpoint_url": info["endpoint_url"], "state_dir": str(self.state_dir), **report}

    def fail(self, site: str) -> dict[str, Any]:
        """Mark ``site`` failed; raises UnknownSite for a name no seeded inventory declares."""
        return self._post(f"/_sandbox/sites/{site}/fail")

    def recover(self, site: str) -> dict[str, Any]:
        """Mark ``site`` healthy again; raises UnknownSite like ``fail``."""
        return self._post(f"/_sandbox/sites/{site}/recover")

    def register_sites(self, sites: list[dict[str, Any]]) -> list[str]:
        """Register (or refresh) sites: ``name``, ``kind``, ``region``, ``endpoints`` and any other keys."""
        return self._post("/_sandbox/sites", {"sites": sites})["registered"]

    def start_databases(self, databases: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Start (or reuse) the real database server behind each seeded database; return their descriptions."""
        return self._post("/_sandbox/databases", {"databases": databases}, timeout=DATABASES_TIMEOUT)["databases"]

    def database(self, name: str) -> dict[str, Any]:
        """An inventory database: its site, kind, AWS-side address, the local address of its server, schema, user."""
        databases = self.status().get("databases", [])
        found = next((d for d in databases if d["name"] == name), None)
        if found is None:
            known = ", ".join(d["name"] for d in databases) or "none"
            raise SandboxError(f"Unknown database '{name}'; known databases: {known}.")
        return found

    def dms_delay(self, seconds: float) -> float:
        """Make DMS wait ``seconds`` before applying each captured change (0: no delay); return the delay set."""
        return self._post("/_sandbox/dms", {"apply_delay": seconds})["apply_delay"]

    def client(self, service: str, region: str = "us-east-1") -> Any:
        """A boto3 client bound to the sandbox with the dummy credentials."""
        return boto3.client(service, region_name=region, endpoint_url=self.endpoint_url, **DUMMY_CREDENTIALS)

    # -- process ---------------------------------------------------------------------------

    def _start(self, port: int, time_scale: float, ga_deploy_seconds: float | None = None) -> None:
        """Launch ``python -m sandbox serve`` detached and wait until it answers."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.process_file.unlink(missing_ok=True)  # stale: its server no longer answers
        command = [sys.executable, "-m", "sandbox", "serve", "--port", str(port),
                   "--state-dir", str(self.state_dir), "--time-scale", str(time_scale)]
        if ga_deploy_seconds is not None:
            command += ["--ga-deploy-seconds", str(ga_deploy_seconds)]
        with self.log_file.open("ab") as log:
            # A new session keeps the server alive when the launching shell or terminal goes away.
            self._process = subprocess.Popen(command, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise SandboxError(f"The sandbox server exited at start; see {self.log_file}:\n{self._log_tail()}")
            info = self._read_process_file()
            if info and info["pid"] == self._process.pid and self._answers(info):
                return
            time.sleep(0.05)
        self._stop(self._process.pid)
        raise SandboxError(f"The sandbox server did not answer within {START_TIMEOUT:.0f} s; see {self.log_file}.")

    def _stop(self, pid: int) -> None:
        """SIGTERM ``pid`` and wait for it to exit; SIGKILL it if it will not."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + STOP_TIMEOUT
            while time.monotonic() < deadline:
                if not self._alive(pid):
                    return
                time.sleep(0.05)

    def _alive(self, pid: int) -> bool:
        """Whether ``pid`` still runs; reaps it when this process started it."""
        if self._process is not None and self._process.pid == pid:
            return self._process.poll() is None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return not is_zombie(pid)

    def _log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    # -- process file and control API ------------------------------------------------------

    def _read_process_file(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.process_file.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def _live_info(self) -> dict[str, Any] | None:
        """The process file's content if its server answers, else None."""
        info = self._read_process_file()
        return info if info and self._answers(info) else None

    def _running_info(self) -> dict[str, Any]:
        info = self._live_info()
        if info is None:
            raise NotRunning(f"No sandbox is running for {self.state_dir}; start one with "
                             f"`python -m sandbox up -i INVENTORY`.")
        return info

    def _answers(self, info: dict[str, Any]) -> bool:
        """Whether the server recorded in ``info`` answers and is the recorded process."""
        try:
            return request_json(f"{info['endpoint_url']}/_sandbox/status", timeout=2)["pid"] == info["pid"]
        except (OSError, ValueError, KeyError):
            return False

    def _get(self, path: str) -> dict[str, Any]:
        return request_json(self._running_info()["endpoint_url"] + path)

    def _post(self, path: str, payload: dict[str, Any] | None = None, timeout: float = 10) -> dict[str, Any]:
        url = self._running_info()["endpoint_url"] + path
        try:
            return request_json(url, payload or {}, timeout)
        except urllib.error.HTTPError as error:
            body = json.loads(error.read() or b"{}")
            if error.code == 404 and "known_sites" in body:
                raise UnknownSite(path.split("/")[3], body["known_sites"]) from None
            raise SandboxError(body.get("error", str(error))) from None

    # -- outputs ---------------------------------------------------------------------------

    @property
    def gitops_remote(self) -> Path:
        """The bare git repository that stands for the GitOps remote (CodeCommit in the seed)."""
        return self.state_dir / "gitops.git"

    def _ensure_gitops_remote(self) -> None:
        if not (self.gitops_remote / "HEAD").exists():
            subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(self.gitops_remote)],
                           check=True)

    def _write_vars(self) -> None:
        """Write the playbook vars file (``-e @<state-dir>/vars.yml``).

        Besides the AWS connection it names what a site without internet needs: a local GitOps remote,
        a local copy of the Flux install manifests, and where kubeconfigs built from EKS go.
        """
        values = {
            "aws_endpoint_url": self.endpoint_url,
            "aws_access_key": DUMMY_CREDENTIALS["aws_access_key_id"],
            "aws_secret_key": DUMMY_CREDENTIALS["aws_secret_access_key"],
            "sandbox_state_dir": str(self.state_dir),
            "sandbox_kubeconfig": str(self.kubeconfig),
            "gitops_repo_remote": self.gitops_remote.as_uri(),
            "flux_manifests_file": str(FLUX_INSTALL_MANIFESTS),
            "site_kubeconfig_dir": str(self.state_dir / "kube"),
            # The sandbox's DMS puts its CDC latency into CloudWatch every second, not every minute.
            "data_tier_metric_period": 1,
        }
        header = "# Written by `python -m sandbox up`; pass to playbooks as -e @<this file>. Dummy credentials.\n"
        self.vars_file.write_text(header + yaml.safe_dump(values, sort_keys=False))

    def _summary(self, started: bool, results: list[SeedResult], databases: list[list[dict[str, Any]]]) -> dict[str, Any]:
        info = self._running_info()
        return {
            "started": started,
            "pid": info["pid"],
            "endpoint_url": info["endpoint_url"],
            "state_dir": str(self.state_dir),
            "vars_file": str(self.vars_file),
            "inventories": [
                {"path": str(r.inventory), "sites": [s["name"] for s in r.registrations],
                 "hosted_zones": r.hosted_zones, "created": r.created, "databases": servers}
                for r, servers in zip(results, databases)
            ],
        }


def request_json(url: str, payload: dict[str, Any] | None = None, timeout: float = 10) -> Any:
    """GET ``url`` (or POST ``payload`` as JSON) and decode the JSON answer."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def is_zombie(pid: int) -> bool:
    """Whether ``pid`` has exited but waits for its parent (another process) to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def is_server_process(pid: int) -> bool:
    """Whether ``pid`` is a ``python -m sandbox serve`` process (so it is safe to signal)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"sandbox" in command and b"serve" in command
