"""Controllers for workloads: Deployment -> ReplicaSet -> Pods, StatefulSet, DaemonSet (with rolling updates),
the node lifecycle controller's cordon taint, the scheduler (with Pod Topology Spread) and the kubelet (pods start after a delay, once their volumes are mounted: see ``storage``), pod
garbage collection, and each namespace's default ServiceAccount.

Delays are AWS-like seconds scaled by the sandbox time scale (see ``Cluster.delay``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import random
import time
from typing import TYPE_CHECKING, Any

from sandbox.kubernetes.scheduling import (UNSCHEDULABLE_TAINT, misfit, node_ready, spread_misfit, spread_score,
                                           unschedulable_message)
from sandbox.kubernetes.storage import VolumeMounter, claim_problem, unschedulable_for_claims
from sandbox.kubernetes.store import ApiError, Obj, now, random_suffix

if TYPE_CHECKING:
    from sandbox.kubernetes.cluster import Cluster

SCHEDULE_DELAY = 1.0  # seconds from a pod's creation until the scheduler binds it
START_DELAY = 4.0  # seconds from binding until the containers run and the pod is Ready
TERMINAL_PHASES = ("Succeeded", "Failed")
REVISION_LABEL = "controller-revision-hash"  # the DaemonSet pod template a pod was made from


def owned_by(obj: Obj, owner: Obj) -> bool:
    return any(ref.get("uid") == owner["metadata"]["uid"] for ref in obj["metadata"].get("ownerReferences") or [])


def owner_reference(owner: Obj) -> Obj:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def pod_ready(pod: Obj) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def live(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") not in TERMINAL_PHASES


def nonzero(values: dict[str, Any]) -> dict[str, Any]:
    """Status counters as the API server serializes them: zero values are omitted."""
    return {k: v for k, v in values.items() if v not in (0, None)}


def condition(kind: str, status: bool, reason: str, message: str, previous: list[Obj]) -> Obj:
    """A condition that keeps its lastTransitionTime while its status stays the same."""
    old = next((c for c in previous if c.get("type") == kind), {})
    value = "True" if status else "False"
    changed = old.get("status") != value
    stamp = now() if changed or "lastTransitionTime" not in old else old["lastTransitionTime"]
    return {"type": kind, "status": value, "reason": reason, "message": message,
            "lastUpdateTime": stamp if changed or old.get("reason") != reason else old.get("lastUpdateTime", stamp),
            "lastTransitionTime": stamp}


def template_hash(template: Obj) -> str:
    """A stable name-safe hash of a pod template (the ``pod-template-hash`` label)."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(alphabet[b % len(alphabet)] for b in digest[:10])


def daemon_max_unavailable(daemonset: Obj, desired: int) -> int:
    """How many of a DaemonSet's nodes a rolling update may leave without an available pod (percentages round up)."""
    value = ((((daemonset.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {})
             .get("maxUnavailable", 1))
    if isinstance(value, str) and value.endswith("%"):
        value = math.ceil(desired * int(value[:-1]) / 100)
    return max(1, int(value))


def host_ip(node: Obj) -> str:
    return next((a["address"] for a in (node.get("status") or {}).get("addresses") or []
                 if a["type"] == "InternalIP"), "10.0.0.1")


def pod_condition(kind: str, status: bool, previous: list[Obj], reason: str | None = None,
                  message: str | None = None) -> Obj:
    """A pod condition that keeps its lastTransitionTime while its status stays the same."""
    value = "True" if status else "False"
    old = next((c for c in previous if c.get("type") == kind and c.get("status") == value), {})
    made = {"type": kind, "status": value, "lastTransitionTime": old.get("lastTransitionTime") or now()}
    return made | ({"reason": reason, "message": message} if reason else {})


def max_unavailable(deployment: Obj, desired: int) -> int:
    value = (((deployment.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", "25%")
    if isinstance(value, str) and value.endswith("%"):
        return math.floor(desired * int(value[:-1]) / 100)
    return int(value)


class Workloads:
    """One reconcile pass: pod GC, ReplicaSets, Deployments, StatefulSets, DaemonSets, scheduler, kubelet."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.store = cluster.store
        self.types = {plural: self.store.type(group, plural) for group, plural in (
            ("", "pods"), ("", "nodes"), ("", "namespaces"), ("", "serviceaccounts"), ("apps", "deployments"),
            ("apps", "replicasets"), ("apps", "statefulsets"), ("apps", "daemonsets"))}
        self.bound_at: dict[str, float] = {}  # pod uid -> when the scheduler (or a DaemonSet) bound it
        self.seen_at: dict[str, float] = {}  # pod uid -> when this controller first saw it unscheduled
        self.volumes = VolumeMounter(cluster)

    def reconcile(self) -> None:
        self.namespaces()
        self.collect_orphaned_pods()
        self.replicasets()
        self.deployments()
        self.statefulsets()
        self.daemonsets()
        self.cordon_taints()
        self.schedule()
        self.kubelet()

    # -- helpers -----------------------------------------------------------------------------

    def list(self, plural: str, namespace: str | None = None) -> list[Obj]:
        return self.store.list(self.types[plural], namespace)

    def create_pod(self, owner: Obj, name: str, extra_labels: dict[str, str] | None = None,
                   node_name: str | None = None) -> None:
        template = copy.deepcopy((owner.get("spec") or {}).get("template") or {})
        metadata = template.get("metadata") or {}
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": owner["metadata"]["namespace"],
                            "labels": {**(metadata.get("labels") or {}), **(extra_labels or {})},
                            "annotations": metadata.get("annotations") or {},
                            "ownerReferences": [owner_reference(owner)]},
               "spec": template.get("spec") or {}}
        if node_name:
            pod["spec"]["nodeName"] = node_name
        try:
            created = self.store.create(self.types["pods"], pod)
        except ApiError:  # the namespace went away meanwhile, or the name was taken: next pass retries
            return
        if node_name:
            self.bound_at[created["metadata"]["uid"]] = time.monotonic()

    def delete(self, plural: str, obj: Obj) -> None:
        try:
            self.store.delete(self.types[plural], obj["metadata"].get("namespace"), obj["metadata"]["name"])
        except ApiError:
            pass

    def set_status(self, plural: str, obj: Obj, status: dict[str, Any]) -> None:
        def change(current: Obj) -> None:
            current["status"] = status

        if obj.get("status") != status:
            self.store.mutate(self.types[plural], obj["metadata"].get("namespace"), obj["metadata"]["name"], change)

    # -- controllers -------------------------------------------------------------------------

    def namespaces(self) -> None:
        """Every namespace gets its ``default`` ServiceAccount, as the service-account controller does."""
        accounts = {sa["metadata"]["namespace"] for sa in self.list("serviceaccounts") if sa["metadata"]["name"] == "default"}
        for namespace in self.list("namespaces"):
            name = namespace["metadata"]["name"]
            if name not in accounts:
                try:
                    self.store.create(self.types["serviceaccounts"], {"metadata": {"name": "default"}}, name)
                except ApiError:
                    pass

    def collect_orphaned_pods(self) -> None:
        """Pods bound to a node that no longer exists are deleted (their controllers re-create them)."""
        nodes = {n["metadata"]["name"] for n in self.list("nodes")}
        for pod in self.list("pods"):
            node = (pod.get("spec") or {}).get("nodeName")
            if node and node not in nodes:
                self.delete("pods", pod)

    def replicasets(self) -> None:
        pods = self.list("pods")
        for rs in self.list("replicasets"):
            owned = [p for p in pods if owned_by(p, rs) and live(p)]
            desired = (rs.get("spec") or {}).get("replicas", 1)
            for _ in range(desired - len(owned)):
                self.create_pod(rs, f"{rs['metadata']['name']}-{random_suffix()}")
            if len(owned) > desired:
                # Unscheduled pods go first, then pods not ready, then the newest.
                victims = sorted(owned, key=lambda p: (bool((p.get("spec") or {}).get("nodeName")), pod_ready(p),
                                                       p["metadata"]["creationTimestamp"]), reverse=False)
                for pod in victims[:len(owned) - desired]:
                    self.delete("pods", pod)
                owned = victims[len(owned) - desired:]
            ready = sum(pod_ready(p) for p in owned)
            self.set_status("replicasets", rs, nonzero({
                "replicas": len(owned), "fullyLabeledReplicas": len(owned), "readyReplicas": ready,
                "availableReplicas": ready, "observedGeneration": rs["metadata"].get("generation")}) | {
                "replicas": len(owned)})

    def deployments(self) -> None:
        """Each Deployment owns one ReplicaSet per pod template; old ones scale down as the new one is ready."""
        replicasets = self.list("replicasets")
        pods = self.list("pods")
        for deployment in self.list("deployments"):
            spec, meta = deployment.get("spec") or {}, deployment["metadata"]
            desired = spec.get("replicas", 1)
            template_hash_value = template_hash(spec.get("template") or {})
            name = f"{meta['name']}-{template_hash_value}"
            owned = [rs for rs in replicasets if owned_by(rs, deployment)]
            current = next((rs for rs in owned if rs["metadata"]["name"] == name), None)
            revision = max([int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", 0))
                            for rs in owned] or [0])
            if current is None:
                current = self.new_replicaset(deployment, name, template_hash_value, desired, revision + 1)
                if current is None:
                    continue
                owned.append(current)
            elif current["spec"].get("replicas") != desired:
                self.store.mutate(self.types["replicasets"], meta["namespace"], name,
                                  lambda rs: rs["spec"].__setitem__("replicas", desired))
            new_pods = [p for p in pods if owned_by(p, current) and live(p)]
            new_ready = sum(pod_ready(p) for p in new_pods)
            for old in owned:
                if old is not current:
                    # A rolling update: old pods stay until enough new ones are ready.
                    keep = max(0, min(old["spec"].get("replicas", 0), desired - new_ready))
                    if old["spec"].get("replicas") != keep:
                        self.store.mutate(self.types["replicasets"], meta["namespace"], old["metadata"]["name"],
                                          lambda rs, keep=keep: rs["spec"].__setitem__("replicas", keep))
            all_pods = [p for p in pods if live(p) and any(owned_by(p, rs) for rs in owned)]
            ready = sum(pod_ready(p) for p in all_pods)
            previous = (deployment.get("status") or {}).get("conditions") or []
            available = ready >= desired - max_unavailable(deployment, desired)
            complete = len(new_pods) == desired and new_ready >= desired and len(all_pods) == desired
            conditions = [
                condition("Available", available, "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                          "Deployment has minimum availability." if available
                          else "Deployment does not have minimum availability.", previous),
                condition("Progressing", True, "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                          f'ReplicaSet "{name}" has successfully progressed.' if complete
                          else f'ReplicaSet "{name}" is progressing.', previous),
            ]
            self.set_status("deployments", deployment, {**nonzero({
                "observedGeneration": meta.get("generation"), "replicas": len(all_pods),
                "updatedReplicas": len(new_pods), "readyReplicas": ready, "availableReplicas": ready,
                "unavailableReplicas": max(0, desired - ready)}), "conditions": conditions})

    def new_replicaset(self, deployment: Obj, name: str, hash_value: str, replicas: int, revision: int) -> Obj | None:
        spec = deployment["spec"]
        template = copy.deepcopy(spec.get("template") or {})
        template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = hash_value
        selector = copy.deepcopy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})["pod-template-hash"] = hash_value
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": name, "namespace": deployment["metadata"]["namespace"],
                           "labels": template["metadata"]["labels"],
                           "annotations": {"deployment.kubernetes.io/revision": str(revision),
                                           "deployment.kubernetes.io/desired-replicas": str(replicas)},
                           "ownerReferences": [owner_reference(deployment)]},
              "spec": {"replicas": replicas, "selector": selector, "template": template}}
        try:
            return self.store.create(self.types["replicasets"], rs)
        except ApiError:
            return None

    def statefulsets(self) -> None:
        """Pods ``<name>-0`` .. ``<name>-<n-1>``; ordinals at or above the replica count are deleted."""
        pods = self.list("pods")
        for sts in self.list("statefulsets"):
            meta = sts["metadata"]
            desired = (sts.get("spec") or {}).get("replicas", 1)
            owned = {p["metadata"]["name"]: p for p in pods if owned_by(p, sts) and live(p)}
            for ordinal in range(desired):
                name = f"{meta['name']}-{ordinal}"
                if name not in owned:
                    self.create_pod(sts, name, {"statefulset.kubernetes.io/pod-name": name,
                                                "apps.kubernetes.io/pod-index": str(ordinal)})
            for name, pod in owned.items():
                if int(name.rsplit("-", 1)[1]) >= desired:
                    self.delete("pods", pod)
            kept = [p for n, p in owned.items() if int(n.rsplit("-", 1)[1]) < desired]
            ready = sum(pod_ready(p) for p in kept)
            self.set_status("statefulsets", sts, {**nonzero({
                "observedGeneration": meta.get("generation"), "replicas": len(kept), "readyReplicas": ready,
                "currentReplicas": len(kept), "updatedReplicas": len(kept), "availableReplicas": ready}),
                "replicas": len(kept), "currentRevision": f"{meta['name']}-{template_hash(sts['spec'].get('template') or {})}"})

    def daemonsets(self) -> None:
        """One pod per node the DaemonSet's pod template fits, bound directly; others removed.

        Pods carry the hash of the template they were made from; a changed template rolls out (``roll_out``).
        """
        nodes = self.list("nodes")
        pods = self.list("pods")
        for ds in self.list("daemonsets"):
            meta = ds["metadata"]
            template = (ds.get("spec") or {}).get("template") or {}
            pod_spec, revision = template.get("spec") or {}, template_hash(template)
            owned = [p for p in pods if owned_by(p, ds) and live(p)]
            fitting = set()
            for node in nodes:
                node_name = node["metadata"]["name"]
                others = [p for p in pods if (p.get("spec") or {}).get("nodeName") == node_name and not owned_by(p, ds)]
                if misfit(pod_spec, node, others, daemon=True) is None:
                    fitting.add(node_name)
            placed = {(p.get("spec") or {}).get("nodeName") for p in owned}
            for node_name in sorted(fitting - placed):
                self.create_pod(ds, f"{meta['name']}-{random_suffix()}", {
                    REVISION_LABEL: revision, "pod-template-generation": str(meta.get("generation", 1))},
                    node_name=node_name)
            for pod in owned:
                if (pod.get("spec") or {}).get("nodeName") not in fitting:
                    self.delete("pods", pod)
            current = [p for p in owned if (p.get("spec") or {}).get("nodeName") in fitting]
            self.roll_out(ds, current, revision, len(fitting))
            updated = [p for p in current if (p["metadata"].get("labels") or {}).get(REVISION_LABEL) == revision]
            ready = sum(pod_ready(p) for p in current)
            self.set_status("daemonsets", ds, {
                "desiredNumberScheduled": len(fitting), "currentNumberScheduled": len(current),
                "numberMisscheduled": 0, "numberReady": ready, **nonzero({
                    "updatedNumberScheduled": len(updated), "numberAvailable": ready,
                    "numberUnavailable": max(0, len(fitting) - ready),
                    "observedGeneration": meta.get("generation")})})

    def roll_out(self, ds: Obj, current: list[Obj], revision: str, desired: int) -> None:
        """Delete pods of an older template (the next pass makes new ones): unavailable ones at once, available
        ones while fewer than ``maxUnavailable`` nodes lack an available pod. ``updateStrategy`` OnDelete: none."""
        if ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type") == "OnDelete":
            return
        outdated = [p for p in current if (p["metadata"].get("labels") or {}).get(REVISION_LABEL) != revision]
        budget = daemon_max_unavailable(ds, desired) - (desired - sum(pod_ready(p) for p in current))
        for pod in sorted(outdated, key=pod_ready):
            if pod_ready(pod):
                if budget <= 0:
                    return
                budget -= 1
            self.delete("pods", pod)

    def cordon_taints(self) -> None:
        """A cordoned node (``spec.unschedulable``) carries the ``node.kubernetes.io/unschedulable:NoSchedule`` taint
        and loses it when uncordoned, as the node lifecycle controller does."""
        key = UNSCHEDULABLE_TAINT["key"]
        for node in self.list("nodes"):
            spec = node.get("spec") or {}
            cordoned = bool(spec.get("unschedulable"))
            if cordoned == any(t.get("key") == key for t in spec.get("taints") or []):
                continue

            def change(current: Obj, cordoned: bool = cordoned) -> None:
                node_spec = current.setdefault("spec", {})
                taints = [t for t in node_spec.get("taints") or [] if t.get("key") != key]
                if cordoned:
                    taints.append(dict(UNSCHEDULABLE_TAINT))
                if taints:
                    node_spec["taints"] = taints
                else:
                    node_spec.pop("taints", None)

            self.store.mutate(self.types["nodes"], None, node["metadata"]["name"], change)

    def schedule(self) -> None:
        """Bind pending pods older than the scheduling delay to a node they fit: the filters of ``misfit`` and the
        pod's DoNotSchedule spread constraints, then the fewest pods its ScheduleAnyway constraints count in the
        node's domain, then the least loaded node."""
        nodes = self.list("nodes")
        pods = self.list("pods")
        placed: dict[str, list[Obj]] = {n["metadata"]["name"]: [] for n in nodes}
        for pod in pods:
            node = (pod.get("spec") or {}).get("nodeName")
            if node in placed and live(pod):
                placed[node].append(pod)
        delay = self.cluster.delay(SCHEDULE_DELAY)
        for pod in pods:
            spec = pod.get("spec") or {}
            if spec.get("nodeName") or not live(pod) or spec.get("schedulerName", "default-scheduler") != "default-scheduler":
                continue
            if time.monotonic() - self.seen_at.setdefault(pod["metadata"]["uid"], time.monotonic()) < delay:
                continue
            problem = claim_problem(self.cluster, pod)
            if problem:
                self.mark_unschedulable(pod, unschedulable_for_claims(problem, len(nodes)))
                continue
            reasons, candidates = [], []
            for node in nodes:
                reason = misfit(spec, node, placed[node["metadata"]["name"]]) or spread_misfit(pod, node, nodes, placed)
                (reasons.append(reason) if reason else candidates.append(node))
            if candidates:
                chosen = min(candidates, key=lambda n: (spread_score(pod, n, nodes, placed),
                                                        len(placed[n["metadata"]["name"]]), random.random()))
                node_name = chosen["metadata"]["name"]
                placed[node_name].append(pod)
                self.bind(pod, node_name)
            else:
                self.mark_unschedulable(pod, unschedulable_message(reasons, len(nodes)))

    def bind(self, pod: Obj, node_name: str) -> None:
        def change(current: Obj) -> None:
            current["spec"]["nodeName"] = node_name
            status = current.setdefault("status", {})
            status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"] + [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now()}]

        if self.store.mutate(self.types["pods"], pod["metadata"]["namespace"], pod["metadata"]["name"], change):
            self.bound_at[pod["metadata"]["uid"]] = time.monotonic()

    def mark_unschedulable(self, pod: Obj, message: str) -> None:
        def change(current: Obj) -> None:
            status = current.setdefault("status", {})
            old = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), {})
            if old.get("status") == "False" and old.get("message") == message:
                return
            status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"] + [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
                 "lastTransitionTime": old.get("lastTransitionTime") or now()}]

        self.store.mutate(self.types["pods"], pod["metadata"]["namespace"], pod["metadata"]["name"], change)

    def kubelet(self) -> None:
        """Bound pods start running (Ready) once the start delay has passed on a Ready node and their volumes are
        mounted; a pod whose volumes do not mount waits in ContainerCreating while the kubelet retries."""
        nodes = {n["metadata"]["name"]: n for n in self.list("nodes")}
        pods = self.list("pods")
        ready_on_node: dict[str, list[Obj]] = {}
        for pod in pods:
            if pod_ready(pod):
                ready_on_node.setdefault(pod["spec"].get("nodeName"), []).append(pod)
        waiting = set()
        for pod in pods:
            spec, status = pod.get("spec") or {}, pod.get("status") or {}
            node = nodes.get(spec.get("nodeName"))
            if node is None or status.get("phase") != "Pending" or not node_ready(node):
                continue
            bound = self.bound_at.setdefault(pod["metadata"]["uid"], time.monotonic())
            if time.monotonic() - bound < self.cluster.delay(START_DELAY):
                continue
            if self.volumes.mounted(pod, node, ready_on_node.get(node["metadata"]["name"], [])):
                self.start(pod, node)
            else:
                waiting.add(pod["metadata"]["uid"])
                self.container_creating(pod, node)
        self.volumes.forget_others(waiting)

    def container_creating(self, pod: Obj, node: Obj) -> None:
        """The pod is on its node but its containers wait (``ContainerCreating``) for its volumes."""
        def change(current: Obj) -> None:
            status = current.setdefault("status", {})
            previous = status.get("conditions") or []
            containers = current["spec"].get("containers") or []
            unready = f"containers with unready status: [{' '.join(c['name'] for c in containers)}]"
            status.update(phase="Pending", hostIP=host_ip(node), startTime=status.get("startTime") or now())
            status["conditions"] = [
                pod_condition("PodReadyToStartContainers", False, previous),
                pod_condition("Initialized", True, previous),
                pod_condition("Ready", False, previous, "ContainersNotReady", unready),
                pod_condition("ContainersReady", False, previous, "ContainersNotReady", unready),
                pod_condition("PodScheduled", True, previous)]
            status["containerStatuses"] = [
                {"name": c["name"], "image": c.get("image"), "imageID": "", "ready": False, "started": False,
                 "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}} for c in containers]

        self.store.mutate(self.types["pods"], pod["metadata"]["namespace"], pod["metadata"]["name"], change)

    def start(self, pod: Obj, node: Obj) -> None:
        address = host_ip(node)
        prefix = address.rsplit(".", 1)[0]

        def change(current: Obj) -> None:
            stamp = now()
            containers = current["spec"].get("containers") or []
            current["status"] = {
                "phase": "Running", "hostIP": address, "podIP": f"{prefix}.{random.randint(1, 254)}",
                "startTime": stamp, "qosClass": (current.get("status") or {}).get("qosClass", "BestEffort"),
                "conditions": [{"type": t, "status": "True", "lastTransitionTime": stamp}
                               for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
                "containerStatuses": [
                    {"name": c["name"], "image": c.get("image"), "imageID": "", "ready": True, "started": True,
                     "restartCount": 0, "containerID": f"containerd://{random_suffix(16)}",
                     "state": {"running": {"startedAt": stamp}}} for c in containers],
            }

        self.store.mutate(self.types["pods"], pod["metadata"]["namespace"], pod["metadata"]["name"], change)

