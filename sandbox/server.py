"""The sandbox server: moto's WSGI app behind a middleware that adds what moto lacks.

Every request goes to moto unless it is for the control API (``/_sandbox/...``) or an extension
claims it (see ``sandbox.extensions``). The process writes ``sandbox.json`` (pid, port) into its
state dir once it listens, and removes it when it stops. The inventory's databases run as child
processes of the server (see ``sandbox.databases``); they stop with it, and so do DMS tasks.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from sandbox.config import DEFAULT_TIME_SCALE, PROCESS_FILE
from sandbox.databases import DatabaseError, DatabaseRegistry, DatabaseSpec
from sandbox.extensions import build_extensions
from sandbox.extensions.base import Extension
from sandbox.extensions.dms import DmsExtension
from sandbox.kubernetes import ClusterRegistry
from sandbox.protocol import AwsRequest, json_response, signing_scope
from sandbox.state import SiteRegistry, UnknownSite

CONTROL_PREFIX = "/_sandbox/"

_SITE_ACTION = re.compile(r"/_sandbox/sites/(?P<site>[^/]+)/(?P<action>fail|recover)")


class SandboxApp:
    """WSGI middleware in front of moto: control API, extensions, then moto itself."""

    def __init__(self, time_scale: float = DEFAULT_TIME_SCALE, state_dir: Path | None = None,
                 ga_deploy_seconds: float | None = None):
        self.sites = SiteRegistry()
        self.time_scale = time_scale
        self.moto = DomainDispatcherApplication(create_backend_app)
        # The EKS clusters' Kubernetes APIs; their CA and kubeconfig live in the state dir.
        self.clusters = ClusterRegistry(state_dir, time_scale, self.sites)
        # The inventory's databases: real MariaDB servers, children of this process.
        self.databases = DatabaseRegistry(state_dir, self.sites)
        self.extensions: list[Extension] = build_extensions(self.sites, time_scale, self.clusters, ga_deploy_seconds,
                                                            self.databases)
        self.dms = next(e for e in self.extensions if isinstance(e, DmsExtension))
        for extension in self.extensions:
            extension.install()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(CONTROL_PREFIX):
            return self.control(Request(environ))(environ, start_response)
        scope = signing_scope(environ)
        extension = next((e for e in self.extensions if scope and e.service == scope[0]), None)
        if extension:
            request = AwsRequest.from_environ(environ, *scope)
            handler = extension.route(request)
            if handler:
                return handler(request, self.forward)(environ, start_response)
        return self.moto(environ, start_response)

    def forward(self, request: AwsRequest) -> Response:
        """moto's complete answer to ``request``, buffered so an extension can adjust it."""
        return Response.from_app(self.moto, request.fresh_environ(), buffered=True)

    def control(self, request: Request) -> Response:
        """The JSON control API used by the CLI and by seeding."""
        path, method = request.path, request.method
        if method == "GET" and path == "/_sandbox/status":
            return json_response(self.status())
        if method == "POST" and path == "/_sandbox/sites":
            registered = [self.sites.register(s).name for s in request.get_json()["sites"]]
            return json_response({"registered": registered})
        match = _SITE_ACTION.fullmatch(path)
        if method == "POST" and match:
            try:
                site = self.sites.set_failed(match["site"], match["action"] == "fail")
            except UnknownSite as error:
                return json_response({"error": str(error), "known_sites": error.known}, 404)
            return json_response(site.to_dict())
        if method == "POST" and path == "/_sandbox/databases":
            return self.start_databases(request.get_json()["databases"])
        if method == "POST" and path == "/_sandbox/dms":
            self.dms.apply_delay = max(float(request.get_json()["apply_delay"]), 0.0)
            return json_response({"apply_delay": self.dms.apply_delay})
        return json_response({"error": f"No control endpoint {method} {path}."}, 404)

    def start_databases(self, registrations: list[dict[str, Any]]) -> Response:
        """Start (or reuse) a real database server per registration; answer their descriptions."""
        try:
            started = self.databases.start([DatabaseSpec.from_dict(r) for r in registrations])
        except DatabaseError as error:
            return json_response({"error": str(error)}, 500)
        return json_response({"databases": started})

    def status(self) -> dict[str, Any]:
        """Process facts, every site, and what each extension reports."""
        report: dict[str, Any] = {
            "pid": os.getpid(),
            "time_scale": self.time_scale,
            "sites": [site.to_dict() for site in self.sites.all()],
            "databases": self.databases.status(),
            "dms_apply_delay": self.dms.apply_delay,
        }
        for extension in self.extensions:
            report.update(extension.status())
        return report

    def close(self) -> None:
        """Stop what runs beside the HTTP server: DMS tasks first, then the database servers they use."""
        self.dms.close()
        self.databases.close()


def serve(port: int, state_dir: Path, time_scale: float = DEFAULT_TIME_SCALE,
          ga_deploy_seconds: float | None = None) -> None:
    """Serve on 127.0.0.1:``port`` (0 picks a free port) until SIGTERM or SIGINT.

    Writes ``<state_dir>/sandbox.json`` once listening and removes it on the way out.
    ``ga_deploy_seconds``: model seconds a Global Accelerator change takes to deploy (None: 30).
    """
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log per AWS call
    app = SandboxApp(time_scale, state_dir, ga_deploy_seconds)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    app.clusters.endpoint_url = f"http://127.0.0.1:{server.port}"  # cluster controllers call AWS here

    def stop(signum: int, frame: Any) -> None:
        # shutdown() waits for serve_forever() to return, so it must run off the serving thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    process_file = state_dir / PROCESS_FILE
    write_process_file(process_file, server.port, time_scale)
    print(f"sandbox: serving on http://127.0.0.1:{server.port} (pid {os.getpid()})", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        app.close()
        remove_process_file(process_file)


def write_process_file(path: Path, port: int, time_scale: float) -> None:
    """Record this process so the CLI can find, query and stop it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {"pid": os.getpid(), "port": port, "endpoint_url": f"http://127.0.0.1:{port}",
            "time_scale": time_scale, "started_at": time.time()}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(info, indent=1))
    temporary.replace(path)  # readers never see a half-written file


def remove_process_file(path: Path) -> None:
    """Remove ``path`` if it still describes this process (a newer server may own it)."""
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (FileNotFoundError, ValueError):
        pass
