"""PodDisruptionBudgets (policy/v1) and the Eviction subresource of pods, as the disruption controller and the API
server's eviction handler do them.

A budget's status (``currentHealthy``, ``desiredHealthy``, ``disruptionsAllowed``, ``expectedPods``) is computed
from the pods its selector matches in its namespace: healthy pods are Ready ones; the expected count is the
replicas of their controllers (a Deployment's, through its ReplicaSet), or the pods themselves when they have
none. An eviction (``POST .../pods/<name>/eviction``) deletes the pod, unless a budget selecting it would then
have fewer healthy pods than it needs: then 429 TooManyRequests, as the API server answers. The decision is made
under the store lock from the pods as they are, so two evictions at once cannot both take the last disruption.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from sandbox.kubernetes.selectors import match_labels_selector
from sandbox.kubernetes.store import ApiError, Obj, Store, not_found, now

if TYPE_CHECKING:
    from sandbox.kubernetes.cluster import Cluster

EVICTION_VERSIONS = ("policy/v1", "policy/v1beta1")


def pod_ready(pod: Obj) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """An int-or-percent budget field as a pod count of ``total`` (percentages round up, as Kubernetes does)."""
    if isinstance(value, str) and value.endswith("%"):
        share = total * int(value[:-1]) / 100
        return math.ceil(share) if round_up else math.floor(share)
    return int(value)


def controller_replicas(store: Store, pod: Obj) -> tuple[str, int] | None:
    """(controller uid, its desired replicas) of a pod's controller: a ReplicaSet's Deployment when it has one."""
    owner = next((o for o in pod["metadata"].get("ownerReferences") or [] if o.get("controller")), None)
    if owner is None:
        return None
    namespace = pod["metadata"].get("namespace")
    kinds = {"ReplicaSet": ("apps", "replicasets"), "StatefulSet": ("apps", "statefulsets"),
             "ReplicationController": ("", "replicationcontrollers")}
    if owner.get("kind") not in kinds:
        return None
    rtype = store.find_type(kinds[owner["kind"]][0], None, kinds[owner["kind"]][1])
    controller = store.get(rtype, namespace, owner["name"]) if rtype else None
    if controller is None:
        return None
    parent = next((o for o in controller["metadata"].get("ownerReferences") or []
                   if o.get("controller") and o.get("kind") == "Deployment"), None)
    if parent is not None:
        deployment = store.get(store.type("apps", "deployments"), namespace, parent["name"])
        if deployment is not None:
            return deployment["metadata"]["uid"], (deployment.get("spec") or {}).get("replicas", 1)
    return controller["metadata"]["uid"], (controller.get("spec") or {}).get("replicas", 1)


def budget_status(store: Store, budget: Obj, pods: list[Obj]) -> Obj:
    """The status the disruption controller gives ``budget`` for the pods of its namespace."""
    spec = budget.get("spec") or {}
    selects = match_labels_selector(spec.get("selector"))
    namespace = budget["metadata"].get("namespace")
    matched = [p for p in pods if p["metadata"].get("namespace") == namespace
               and selects(p["metadata"].get("labels") or {})
               and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    healthy = sum(pod_ready(p) for p in matched)
    controllers: dict[str, int] = {}
    loose = 0
    for pod in matched:
        found = controller_replicas(store, pod)
        if found is None:
            loose += 1
        else:
            controllers[found[0]] = found[1]
    expected = sum(controllers.values()) + loose
    if "maxUnavailable" in spec:
        desired = max(0, expected - scaled_value(spec["maxUnavailable"], expected, round_up=True))
    elif isinstance(spec.get("minAvailable"), str):
        desired = scaled_value(spec["minAvailable"], expected, round_up=True)
    else:
        # An integer minAvailable counts the pods there are, as the disruption controller does.
        expected = len(matched)
        desired = int(spec.get("minAvailable", 1))
    allowed = max(0, healthy - desired)
    return {"observedGeneration": budget["metadata"].get("generation", 1), "currentHealthy": healthy,
            "desiredHealthy": desired, "disruptionsAllowed": allowed, "expectedPods": expected}


def too_many_requests(budget: Obj, status: Obj) -> ApiError:
    """The 429 the API server answers when an eviction would violate ``budget``."""
    return ApiError(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.", {
        "causes": [{"reason": "DisruptionBudget",
                    "message": f"The disruption budget {budget['metadata']['name']} needs {status['desiredHealthy']} "
                               f"healthy pods and has {status['currentHealthy']} currently"}]})


def evict(store: Store, namespace: str, name: str, eviction: Any, dry_run: bool = False) -> Obj:
    """Evict pod ``namespace/name`` as ``POST .../eviction`` does; return the Status to answer (201).

    Raises ApiError: 404 for a missing pod, 400 for a body that is no Eviction of this pod, 429 when a budget
    would be violated, 500 when more than one budget selects the pod (the API server does not support that).
    """
    if not isinstance(eviction, dict) or eviction.get("kind") != "Eviction" \
            or eviction.get("apiVersion") not in EVICTION_VERSIONS:
        raise ApiError(400, "BadRequest", "the body of the request must be an Eviction (policy/v1)")
    if (eviction.get("metadata") or {}).get("name") not in (None, name):
        raise ApiError(400, "BadRequest", "name in URL does not match name in Eviction object")
    pods_type = store.type("", "pods")
    with store.lock:
        pod = store.get(pods_type, namespace, name)
        if pod is None:
            raise not_found(pods_type, name)
        status = pod.get("status") or {}
        # Pods that are not running take nothing from a budget: terminal, still Pending, or already going.
        ignore_budgets = status.get("phase") in ("Succeeded", "Failed", "Pending") \
            or pod["metadata"].get("deletionTimestamp")
        if not ignore_budgets:
            labels = pod["metadata"].get("labels") or {}
            budgets = [b for b in store.list(store.type("policy", "poddisruptionbudgets"), namespace)
                       if match_labels_selector((b.get("spec") or {}).get("selector"))(labels)]
            if len(budgets) > 1:
                raise ApiError(500, "InternalError", "This pod has more than one PodDisruptionBudget, which the "
                                                     "eviction subresource does not support.")
            if budgets:
                budget = budgets[0]
                computed = budget_status(store, budget, store.list(pods_type, namespace))
                # An unready pod may go while the budget holds; a ready one needs a disruption left.
                if computed["disruptionsAllowed"] < 1 if pod_ready(pod) \
                        else computed["currentHealthy"] < computed["desiredHealthy"]:
                    raise too_many_requests(budget, computed)
        if not dry_run:
            store.delete(pods_type, namespace, name)
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


class DisruptionBudgets:
    """The disruption controller: every PodDisruptionBudget's status, kept current."""

    def __init__(self, cluster: Cluster):
        self.store = cluster.store
        self.budgets = self.store.type("policy", "poddisruptionbudgets")

    def reconcile(self) -> None:
        budgets = self.store.list(self.budgets)
        if not budgets:
            return
        pods = self.store.list(self.store.type("", "pods"))
        for budget in budgets:
            computed = budget_status(self.store, budget, pods)
            previous = budget.get("status") or {}
            allowed = computed["disruptionsAllowed"] > 0
            old = next((c for c in previous.get("conditions") or [] if c.get("type") == "DisruptionAllowed"), {})
            value = "True" if allowed else "False"
            stamp = old["lastTransitionTime"] if old.get("status") == value and old.get("lastTransitionTime") else now()
            wanted = {**computed, "disruptedPods": {}, "conditions": [{
                "type": "DisruptionAllowed", "status": value,
                "reason": "SufficientPods" if allowed else "InsufficientPods", "message": "",
                "observedGeneration": computed["observedGeneration"], "lastTransitionTime": stamp}]}
            if previous != wanted:
                def change(current: Obj, wanted: Obj = wanted) -> None:
                    current["status"] = wanted

                self.store.mutate(self.budgets, budget["metadata"]["namespace"], budget["metadata"]["name"], change)

