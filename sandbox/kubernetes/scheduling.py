"""Whether a pod fits a node, as the kube-scheduler's basic filters decide it.

Filters: node Ready and not cordoned, ``nodeSelector``, required node affinity, taints (NoSchedule and
NoExecute) against tolerations, pod count against ``allocatable.pods`` and cpu requests against
``allocatable.cpu``.
"""

from __future__ import annotations

from typing import Any

from sandbox.kubernetes.selectors import expression_holds

Obj = dict[str, Any]


def cpu_millis(quantity: Any) -> int:
    """A cpu quantity (``250m``, ``1``, ``0.5``) in millicores."""
    text = str(quantity or "0").strip()
    if text.endswith("m"):
        return int(float(text[:-1]))
    return int(float(text) * 1000)


def pod_cpu_request(spec: Obj) -> int:
    return sum(cpu_millis(((c.get("resources") or {}).get("requests") or {}).get("cpu"))
               for c in spec.get("containers") or [])


def node_ready(node: Obj) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def tolerates(tolerations: list[Obj], taint: Obj) -> bool:
    """Whether some toleration matches ``taint`` (key, operator Equal/Exists, value, effect)."""
    for toleration in tolerations:
        operator = toleration.get("operator", "Equal")
        key_matches = not toleration.get("key") and operator == "Exists" or toleration.get("key") == taint.get("key")
        value_matches = operator == "Exists" or toleration.get("value", "") == taint.get("value", "")
        effect_matches = not toleration.get("effect") or toleration.get("effect") == taint.get("effect")
        if key_matches and value_matches and effect_matches:
            return True
    return False


def affinity_matches(spec: Obj, node: Obj) -> bool:
    """``nodeSelector`` and required node affinity (terms ORed, expressions ANDed) against the node."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    fields = {"metadata.name": node["metadata"]["name"]}
    return any(all(expression_holds(e, labels) for e in term.get("matchExpressions") or [])
               and all(expression_holds(e, fields) for e in term.get("matchFields") or [])
               for term in terms)


def untolerated_taint(spec: Obj, node: Obj) -> Obj | None:
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(spec.get("tolerations") or [], taint):
            return taint
    return None


def misfit(spec: Obj, node: Obj, pods_on_node: list[Obj], daemon: bool = False) -> str | None:
    """Why a pod with ``spec`` cannot go to ``node`` (the scheduler's wording), or None if it fits.

    ``daemon`` pods (DaemonSet) ignore cordoning, as the DaemonSet controller's tolerations make them.
    """
    if not node_ready(node):
        return "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
    if (node.get("spec") or {}).get("unschedulable") and not daemon:
        return "node(s) were unschedulable"
    if not affinity_matches(spec, node):
        return "node(s) didn't match Pod's node affinity/selector"
    taint = untolerated_taint(spec, node)
    if taint:
        return f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    if len(pods_on_node) + 1 > int(allocatable.get("pods") or 110):
        return "Too many pods"
    used = sum(pod_cpu_request(p.get("spec") or {}) for p in pods_on_node)
    if used + pod_cpu_request(spec) > cpu_millis(allocatable.get("cpu") or "1000"):
        return "Insufficient cpu"
    return None


def unschedulable_message(reasons: list[str], node_count: int) -> str:
    """``0/3 nodes are available: 2 Too many pods, 1 node(s) were unschedulable.`` as the scheduler says."""
    if not node_count:
        return "no nodes available to schedule pods"
    counted: dict[str, int] = {}
    for reason in reasons:
        counted[reason] = counted.get(reason, 0) + 1
    detail = ", ".join(f"{n} {r}" for r, n in sorted(counted.items()))
    return f"0/{node_count} nodes are available: {detail}. preemption: 0/{node_count} nodes are available."
