"""A stand-in for Karpenter: nodes for pods the scheduler cannot place, once Karpenter runs.

Active while a Deployment whose pods are labelled ``app.kubernetes.io/name: karpenter`` has ready replicas
and a NodePool (karpenter.sh/v1) or Provisioner (karpenter.sh/v1alpha5) exists. Then each Pending
unschedulable pod that a node of some pool would take gets such a node after LAUNCH_DELAY: the pool's
instance type (first ``node.kubernetes.io/instance-type`` value, else DEFAULT_INSTANCE_TYPE) in the pool's
zone (``topology.kubernetes.io/zone`` requirement, narrowed by the pod's own zone selector, else the
cluster's first zone), labelled ``karpenter.sh/nodepool`` (or ``karpenter.sh/provisioner-name``). Pods
that fit a node already being launched wait for it instead of causing another.

A pod with zone topology spread constraints gets its node in the allowed zone with the fewest of the pods
it spreads (counting nodes on their way), among the zones where its DoNotSchedule constraints would hold,
as Karpenter treats every zone of the NodePool as a domain even before it has a node there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.kubernetes.nodes import DEFAULT_INSTANCE_TYPE, node_object
from sandbox.kubernetes.scheduling import domain_counts, misfit, spread_constraints, spread_misfit
from sandbox.kubernetes.store import Obj

if TYPE_CHECKING:
    from sandbox.kubernetes.cluster import Cluster

LAUNCH_DELAY = 30.0  # seconds from deciding on a node until it is Ready (EC2 launch + kubelet join)
ZONE = "topology.kubernetes.io/zone"
INSTANCE_TYPE = "node.kubernetes.io/instance-type"


@dataclass
class Pool:
    """A NodePool or Provisioner reduced to what node creation needs."""

    label: str  # karpenter.sh/nodepool or karpenter.sh/provisioner-name
    name: str
    requirements: list[dict[str, Any]]
    labels: dict[str, str]
    taints: list[dict[str, Any]]
    weight: int = 0

    def values(self, key: str) -> list[str]:
        return next((r.get("values") or [] for r in self.requirements
                     if r.get("key") == key and r.get("operator") == "In"), [])


@dataclass
class Launch:
    """A node on its way: the Node it will be, when it will be ready, and the pods waiting for it."""

    node: Obj
    ready_at: float
    pods: list[Obj] = field(default_factory=list)


class Karpenter:
    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.store = cluster.store
        self.launches: list[Launch] = []
        # Pod uid -> until when it is left to the scheduler: its node just joined, so it is not re-planned.
        self.landed: dict[str, float] = {}

    def running(self) -> bool:
        for deployment in self.store.list_kind("apps", "deployments"):
            labels = ((deployment["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
            if labels.get("app.kubernetes.io/name") == "karpenter" and (deployment.get("status") or {}).get("readyReplicas", 0) > 0:
                return True
        return False

    def pools(self) -> list[Pool]:
        pools = []
        for pool in self.store.list_kind("karpenter.sh", "nodepools"):
            template = (pool.get("spec") or {}).get("template") or {}
            pools.append(Pool("karpenter.sh/nodepool", pool["metadata"]["name"],
                              (template.get("spec") or {}).get("requirements") or [],
                              (template.get("metadata") or {}).get("labels") or {},
                              (template.get("spec") or {}).get("taints") or [], pool["spec"].get("weight", 0)))
        for provisioner in self.store.list_kind("karpenter.sh", "provisioners"):
            spec = provisioner.get("spec") or {}
            pools.append(Pool("karpenter.sh/provisioner-name", provisioner["metadata"]["name"],
                              spec.get("requirements") or [], spec.get("labels") or {}, spec.get("taints") or [],
                              spec.get("weight", 0)))
        return sorted(pools, key=lambda p: -p.weight)

    def reconcile(self) -> None:
        moment = time.monotonic()
        for launch in [l for l in self.launches if l.ready_at <= moment]:
            self.launches.remove(launch)
            self.store.create(self.store.type("", "nodes"), launch.node)
            for pod in launch.pods:
                self.landed[pod["metadata"]["uid"]] = moment + self.cluster.delay(LAUNCH_DELAY)
        self.landed = {uid: until for uid, until in self.landed.items() if until > moment}
        if not self.running():
            return
        pools = self.pools()
        if not pools:
            return
        waiting = {p["metadata"]["uid"] for launch in self.launches for p in launch.pods} | set(self.landed)
        pods = self.store.list_kind("", "pods")
        for pod in pods:
            if pod["metadata"]["uid"] in waiting or not unschedulable(pod):
                continue
            spec = pod.get("spec") or {}
            nodes, pods_by_node = self.placement(pods)
            # As Karpenter simulates a batch, every zone its pools may launch in is a domain of the pod's zone spread:
            # a launch on its way takes the pod only in a zone the spread still allows.
            allowed = self.zones_for(pod, self.pool_zones(pools), nodes, pods_by_node)
            launch = next((l for l in self.launches if misfit(spec, l.node, l.pods) is None
                           and spread_misfit(pod, l.node, nodes, pods_by_node) is None
                           and l.node["metadata"]["labels"].get(ZONE) in allowed), None)
            if launch is None:
                launch = self.plan(pod, pools, moment, nodes, pods_by_node)
            if launch is not None:
                launch.pods.append(pod)

    def placement(self, pods: list[Obj]) -> tuple[list[Obj], dict[str, list[Obj]]]:
        """Every node, those on their way included, and the live pods bound to (or waiting for) each."""
        nodes = self.store.list_kind("", "nodes") + [launch.node for launch in self.launches]
        pods_by_node: dict[str, list[Obj]] = {launch.node["metadata"]["name"]: list(launch.pods) for launch in self.launches}
        for pod in pods:
            node_name = (pod.get("spec") or {}).get("nodeName")
            if node_name and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                pods_by_node.setdefault(node_name, []).append(pod)
        return nodes, pods_by_node

    def pool_zones(self, pools: list[Pool]) -> list[str]:
        """The zones the pools may launch in (the cluster's when they do not say)."""
        zones = sorted({zone for pool in pools for zone in pool.values(ZONE)})
        return zones or list(self.cluster.spec.zones) or [f"{self.cluster.spec.region}a"]

    def zones_for(self, pod: Obj, zones: list[str], nodes: list[Obj], pods_by_node: dict[str, list[Obj]]) -> list[str]:
        """The allowed ``zones`` a node for ``pod`` may go to, best first: the zone spread constraints' counts (each
        allowed zone a domain), lowest first; zones where a DoNotSchedule constraint would be violated left out."""
        scores = {zone: 0 for zone in zones}
        for hard in (True, False):
            for constraint in spread_constraints(pod, hard):
                if constraint["topologyKey"] != ZONE:
                    continue
                counts = {zone: 0 for zone in zones} | domain_counts(constraint, pod, nodes, pods_by_node)
                floor = min(counts.values())
                for zone in list(scores):
                    if hard and counts[zone] + 1 - floor > int(constraint.get("maxSkew") or 1):
                        scores.pop(zone)
                    else:
                        scores[zone] += counts[zone]
        return sorted(scores, key=lambda zone: (scores[zone], zones.index(zone)))

    def plan(self, pod: Obj, pools: list[Pool], moment: float, nodes: list[Obj],
             pods_by_node: dict[str, list[Obj]]) -> Launch | None:
        """A new launch from the first pool whose node the pod would fit, in the zone its spread prefers, or None."""
        spec = pod.get("spec") or {}
        for pool in pools:
            wanted_zone = (spec.get("nodeSelector") or {}).get(ZONE)
            zones = pool.values(ZONE) or self.cluster.spec.zones or [f"{self.cluster.spec.region}a"]
            candidates = self.zones_for(pod, [wanted_zone] if wanted_zone in zones else zones, nodes, pods_by_node)
            if not candidates:
                continue
            instance_type = ((pool.values(INSTANCE_TYPE) or [None])[0]
                             or (spec.get("nodeSelector") or {}).get(INSTANCE_TYPE) or DEFAULT_INSTANCE_TYPE)
            labels = {**pool.labels, pool.label: pool.name, "karpenter.sh/capacity-type": "on-demand",
                      "karpenter.sh/registered": "true", "karpenter.sh/initialized": "true"}
            for requirement in pool.requirements:
                values = requirement.get("values") or []
                if requirement.get("operator") == "In" and len(values) == 1 and requirement["key"] != ZONE:
                    labels.setdefault(requirement["key"], values[0])
            for zone in candidates:
                node = node_object(instance_type, zone, self.cluster.spec.region, self.cluster.kubelet_version,
                                   labels, pool.taints or None)
                if misfit(spec, node, []) is None:
                    launch = Launch(node, moment + self.cluster.delay(LAUNCH_DELAY))
                    self.launches.append(launch)
                    return launch
        return None


def unschedulable(pod: Obj) -> bool:
    status = pod.get("status") or {}
    return not (pod.get("spec") or {}).get("nodeName") and status.get("phase") == "Pending" and any(
        c.get("type") == "PodScheduled" and c.get("reason") == "Unschedulable" for c in status.get("conditions") or [])
