"""Run module tasks with ansible-playbook against the sandbox, seeing every AWS call they make.

Every module call goes through ``RecordingProxy``, a loopback HTTP endpoint in front of the sandbox that records
each call as (method, path) for REST services, or (method, operation) for JSON (``X-Amz-Target``) and query
(``Action=``) protocol services, so a test can assert which writes a run made.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]

# Route 53 reads are GETs, except ListTagsForResources (POST /2013-04-01/tags/<type>, no resource id).
_ROUTE53_READ_POST = re.compile(r"/2013-04-01/tags/[^/]+/?")
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
               "content-length"}


def operation(headers: Any, path: str, body: bytes | None) -> str:
    """What a call is: the operation of a JSON (X-Amz-Target) or query (Action=) protocol call, else its path."""
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    if "x-www-form-urlencoded" in (headers.get("Content-Type") or "") and body:
        action = urllib.parse.parse_qs(body.decode()).get("Action")
        if action:
            return action[0]
    return urllib.parse.urlsplit(path).path


class _ForwardingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Small requests and answers go out at once rather than waiting for a delayed ACK.
    disable_nagle_algorithm = True

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        self.server.calls.append((self.command, operation(self.headers, self.path, body)))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=60)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
        finally:
            upstream.close()
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in _HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    def log_message(self, *args: Any) -> None:
        pass


class RecordingProxy:
    """A loopback HTTP endpoint that forwards every request to ``upstream_url`` and records its method and path."""

    def __init__(self, upstream_url: str):
        parts = urllib.parse.urlsplit(upstream_url)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _ForwardingHandler)
        self._server.daemon_threads = True
        self._server.upstream = (parts.hostname, parts.port)
        self._server.calls = []
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def calls(self) -> list[tuple[str, str]]:
        return self._server.calls

    def start(self) -> RecordingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def is_read(method: str, call: str) -> bool:
    """Whether a recorded call only reads: a REST GET (or Route 53's tag listing), or a Describe/List/Get operation."""
    if call.startswith("/"):
        return method == "GET" or (method == "POST" and bool(_ROUTE53_READ_POST.fullmatch(call)))
    return call.startswith(("Describe", "List", "Get"))


def writes(calls: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The calls among ``calls`` that change something."""
    return [(method, call) for method, call in calls if not is_read(method, call)]


def task(module: str, args: dict[str, Any], check: bool = False, diff: bool = False) -> dict[str, Any]:
    """One module call of a playbook run by ``PlaybookRunner``."""
    return {"module": module, "args": args, "check": check, "diff": diff}


@dataclass
class Play:
    """The registered results of the tasks of one playbook, in order, and the AWS calls the playbook made."""

    results: list[dict[str, Any]]
    calls: list[tuple[str, str]] = field(default_factory=list)

    @property
    def writes(self) -> list[tuple[str, str]]:
        return writes(self.calls)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.results[index]


class PlaybookRunner:
    """Run module tasks with ansible-playbook from the checkout, against an AWS endpoint seen through a proxy."""

    def __init__(self, proxy: RecordingProxy, workdir: Path, credentials: dict[str, str]):
        self.proxy = proxy
        self.workdir = workdir
        self.credentials = credentials
        self._count = 0

    def __call__(self, *tasks: dict[str, Any]) -> Play:
        """Run ``tasks`` (see ``task``) in order as one playbook; a failing task does not stop the ones after it."""
        steps = []
        for index, spec in enumerate(tasks):
            args = dict(spec["args"], endpoint_url=self.proxy.url, **self.credentials)
            steps.append({"name": f"step {index}", f"eks_ha.resilience.{spec['module']}": args,
                          "register": f"step{index}", "ignore_errors": True,
                          "check_mode": spec["check"], "diff": spec["diff"]})
        registered = ", ".join(f"step{index}" for index in range(len(tasks)))
        return self._play(["localhost"], steps, "[" + registered + "]")

    def parallel(self, module: str, cases: list[dict[str, Any]]) -> Play:
        """Run ``module`` once per entry of ``cases`` (its args), all at once: one inventory host per case."""
        hosts = [f"case{index}" for index in range(len(cases))]
        keys = sorted({key for args in cases for key in args})
        args = {key: "{{ cases[inventory_hostname]['%s'] | default(omit) }}" % key for key in keys}
        args.update(endpoint_url=self.proxy.url, **self.credentials)
        steps = [{"name": "case", f"eks_ha.resilience.{module}": args, "register": "step", "ignore_errors": True}]
        play = self._play(hosts, steps, "dict(ansible_play_hosts_all | zip(ansible_play_hosts_all"
                          " | map('extract', hostvars, 'step')))", {"cases": dict(zip(hosts, cases))})
        play.results = [play.results[host] for host in hosts]
        return play

    def _play(self, hosts: list[str], steps: list[dict[str, Any]], results: str,
              variables: dict[str, Any] | None = None) -> Play:
        """Run ``steps`` on ``hosts`` (all local), then save the value of the expression ``results``."""
        self._count += 1
        result_file = self.workdir / f"results{self._count}.json"
        playbook = self.workdir / f"play{self._count}.yml"
        steps = steps + [{"name": "save results", "run_once": True, "check_mode": False, "diff": False,
                          "ansible.builtin.copy": {"content": "{{ " + results + " | to_json }}",
                                                   "dest": str(result_file)}}]
        playbook.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "vars": variables or {},
                                         "tasks": steps}]))

        command = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", ",".join(hosts) + ",",
                   "-c", "local", "-f", str(max(len(hosts), 1)), str(playbook)]
        # Only the modules are under test: keep ansible.cfg but not the extra callbacks it enables.
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default",
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable)
        for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
            env.pop(variable, None)
        self.proxy.calls.clear()
        completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False,
                                   timeout=300)
        assert result_file.exists(), completed.stdout + completed.stderr
        return Play(json.loads(result_file.read_text()), list(self.proxy.calls))
