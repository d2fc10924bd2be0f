"""Sandbox EKS clusters: each has a Store, an HTTPS API listener and a controller loop, in threads.

``ClusterRegistry`` knows every cluster (by Region and name), writes the kubeconfig of all of them, and
reports them in the sandbox status.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml
from werkzeug.serving import BaseWSGIServer, make_server

from sandbox.kubernetes.api import ApiServer
from sandbox.kubernetes.auth import make_token
from sandbox.kubernetes.nodes import node_object
from sandbox.kubernetes.store import Store
from sandbox.kubernetes.tls import ClusterTls
from sandbox.state import Site, SiteRegistry

log = logging.getLogger(__name__)

# Seconds between two reconcile passes of a cluster's controllers (real time, not scaled): every TICK while
# the cluster is busy (an object was written in the last BUSY_WINDOW seconds), else every IDLE_TICK, or at
# once when an object is written. An idle sandbox then costs next to no CPU.
TICK = 0.1
IDLE_TICK = 1.0
BUSY_WINDOW = 5.0
AwsClient = Callable[[str, str], Any]  # (service, region) -> boto3 client bound to the sandbox


@dataclass
class ClusterSpec:
    """What EKS knows of a cluster (from CreateCluster): enough to run its API and controllers."""

    name: str
    region: str
    version: str
    arn: str = ""
    subnet_ids: list[str] = field(default_factory=list)
    vpc_id: str = ""
    zones: list[str] = field(default_factory=list)  # availability zones of ``subnet_ids``, in order


class Cluster:
    """One running cluster: API listener thread and controller thread, sharing one Store."""

    def __init__(self, spec: ClusterSpec, tls: ClusterTls, time_scale: float, aws: AwsClient, sites: SiteRegistry):
        from sandbox.kubernetes.controllers import build_controllers  # controllers import this module

        self.spec = spec
        self.tls = tls
        self.time_scale = time_scale
        self.aws = aws
        self.sites = sites
        self.store = Store()
        self.api = ApiServer(self.store, spec.version, lambda: f"127.0.0.1:{self.port}")
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, self.api, threaded=True,
                                                  ssl_context=tls.server_context())
        self.port = self.server.port
        self.controllers = build_controllers(self)
        self._stopped = threading.Event()
        threading.Thread(target=self.server.serve_forever, name=f"k8s-api-{spec.name}", daemon=True).start()
        threading.Thread(target=self._reconcile_forever, name=f"k8s-controllers-{spec.name}", daemon=True).start()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def kubelet_version(self) -> str:
        return f"v{self.spec.version}.0-eks-sandbox"

    def delay(self, seconds: float) -> float:
        """Real seconds for something that takes ``seconds`` on AWS (scaled by the sandbox time scale)."""
        return seconds * self.time_scale

    def site(self) -> Site | None:
        """The inventory site this cluster belongs to: the one declaring it, else one sharing a subnet."""
        for site in self.sites.all():
            declared = site.attributes.get("cluster") or {}
            if declared.get("name") == self.name and site.region == self.spec.region:
                return site
        return next((s for s in self.sites.all() if set(s.attributes.get("subnet_ids") or []) & set(self.spec.subnet_ids)),
                    None)

    def add_nodes(self, count: int, instance_type: str, zones: list[str], labels: dict[str, str],
                  taints: list[dict[str, Any]] | None = None) -> list[str]:
        """Create ``count`` Ready nodes spread over ``zones``; return their names."""
        nodes = self.store.type("", "nodes")
        names = []
        for index in range(count):
            zone = zones[index % len(zones)] if zones else f"{self.spec.region}a"
            node = node_object(instance_type, zone, self.spec.region, self.kubelet_version, labels, taints)
            names.append(self.store.create(nodes, node)["metadata"]["name"])
        return names

    def stop(self) -> None:
        self._stopped.set()
        self.server.shutdown()

    def _reconcile_forever(self) -> None:
        seen_revision, changed_at = -1, time.monotonic()
        while not self._stopped.is_set():
            if self.store.revision != seen_revision:
                seen_revision, changed_at = self.store.revision, time.monotonic()
            if time.monotonic() - changed_at < BUSY_WINDOW:
                self._stopped.wait(TICK)
            else:
                with self.store.changed:  # idle: sleep until a write or IDLE_TICK
                    if self.store.revision == seen_revision:
                        self.store.changed.wait(IDLE_TICK)
            for controller in self.controllers:
                try:
                    controller.reconcile()
                except Exception:  # one broken pass must not stop the cluster's other controllers
                    log.exception("controller %s of cluster %s failed", type(controller).__name__, self.name)

    def describe(self) -> dict[str, Any]:
        nodes = self.store.list_kind("", "nodes")
        return {"name": self.name, "region": self.spec.region, "version": self.spec.version,
                "endpoint": self.endpoint, "nodes": len(nodes)}


class ClusterRegistry:
    """Every cluster of the sandbox, keyed by (Region, name); writes ``<state dir>/kubeconfig``."""

    def __init__(self, state_dir: Path | None, time_scale: float, sites: SiteRegistry):
        self.state_dir = state_dir
        self.time_scale = time_scale
        self.sites = sites
        self.endpoint_url = ""  # the sandbox's AWS endpoint, set once the server listens
        self._clusters: dict[tuple[str, str], Cluster] = {}
        self._lock = threading.Lock()
        self._tls: ClusterTls | None = None

    @property
    def tls(self) -> ClusterTls:
        if self._tls is None:
            self._tls = ClusterTls(self.state_dir or Path(".sandbox"))
        return self._tls

    def aws(self, service: str, region: str) -> Any:
        import boto3

        from sandbox.seed import DUMMY_CREDENTIALS

        return boto3.client(service, region_name=region, endpoint_url=self.endpoint_url, **DUMMY_CREDENTIALS)

    def register(self, spec: ClusterSpec) -> Cluster:
        """The running cluster for ``spec``, started the first time it is seen."""
        with self._lock:
            cluster = self._clusters.get((spec.region, spec.name))
            if cluster is None:
                cluster = self._clusters[(spec.region, spec.name)] = Cluster(
                    spec, self.tls, self.time_scale, self.aws, self.sites)
                self._write_kubeconfig()
            return cluster

    def get(self, region: str, name: str) -> Cluster | None:
        with self._lock:
            return self._clusters.get((region, name))

    def remove(self, region: str, name: str) -> None:
        with self._lock:
            cluster = self._clusters.pop((region, name), None)
            if cluster:
                cluster.stop()
                self._write_kubeconfig()

    def all(self) -> list[Cluster]:
        with self._lock:
            return list(self._clusters.values())

    def _write_kubeconfig(self) -> None:
        """One context per cluster (named after it), each with a static EKS-form token."""
        if self.state_dir is None:
            return
        clusters = list(self._clusters.values())
        config = {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "current-context": clusters[0].name if clusters else "",
            "clusters": [{"name": c.spec.arn or c.name, "cluster": {
                "server": c.endpoint, "certificate-authority": str(self.tls.ca_path)}} for c in clusters],
            "users": [{"name": c.spec.arn or c.name, "user": {"token": make_token(c.name, c.spec.region)}}
                      for c in clusters],
            "contexts": [{"name": c.name, "context": {"cluster": c.spec.arn or c.name, "user": c.spec.arn or c.name}}
                         for c in clusters],
        }
        path = self.state_dir / "kubeconfig"
        temporary = path.with_suffix(".tmp")
        temporary.write_text("# Written by the sandbox server: one context per EKS cluster.\n"
                             + yaml.safe_dump(config, sort_keys=False))
        temporary.chmod(0o600)
        temporary.replace(path)
