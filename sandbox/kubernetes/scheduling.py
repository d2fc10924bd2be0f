"""Whether a pod fits a node, as the kube-scheduler's basic filters decide it.

Filters: node Ready and not cordoned, ``nodeSelector``, required node affinity, taints (NoSchedule and
NoExecute) against tolerations, pod count against ``allocatable.pods`` and cpu requests against
``allocatable.cpu``; then Pod Topology Spread (``spread_misfit``: ``whenUnsatisfiable: DoNotSchedule``
constraints filter, ``spread_score`` ranks the nodes for ``ScheduleAnyway`` ones).
"""

from __future__ import annotations

from typing import Any

from sandbox.kubernetes.selectors import expression_holds, match_labels_selector

Obj = dict[str, Any]
# The taint the node lifecycle controller puts on a cordoned node (and removes when it is uncordoned).
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
# What the DaemonSet controller adds to its pods' tolerations, so cordoned or troubled nodes keep their daemons.
DAEMON_TOLERATIONS = [{"key": key, "operator": "Exists", "effect": effect} for key, effect in (
    ("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"), ("node.kubernetes.io/unschedulable", "NoSchedule"))]
SPREAD_MISFIT = "node(s) didn't match pod topology spread constraints"


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


def untolerated_taint(spec: Obj, node: Obj, daemon: bool = False) -> Obj | None:
    tolerations = (spec.get("tolerations") or []) + (DAEMON_TOLERATIONS if daemon else [])
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
            return taint
    return None


def misfit(spec: Obj, node: Obj, pods_on_node: list[Obj], daemon: bool = False) -> str | None:
    """Why a pod with ``spec`` cannot go to ``node`` (the scheduler's wording), or None if it fits.

    ``daemon`` pods (DaemonSet) ignore cordoning, as the DaemonSet controller's tolerations make them.
    """
    if not node_ready(node):
        return "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
    if (node.get("spec") or {}).get("unschedulable") and not daemon \
            and not tolerates(spec.get("tolerations") or [], UNSCHEDULABLE_TAINT):
        return "node(s) were unschedulable"
    if not affinity_matches(spec, node):
        return "node(s) didn't match Pod's node affinity/selector"
    taint = untolerated_taint(spec, node, daemon)
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


# -- Pod Topology Spread ------------------------------------------------------------------------


def spread_constraints(pod: Obj, hard: bool = True) -> list[Obj]:
    """The pod's ``topologySpreadConstraints`` that filter (``DoNotSchedule``), or only score (``hard=False``)."""
    wanted = "DoNotSchedule" if hard else "ScheduleAnyway"
    return [c for c in (pod.get("spec") or {}).get("topologySpreadConstraints") or []
            if c.get("whenUnsatisfiable", "DoNotSchedule") == wanted and c.get("topologyKey")]


def _counts_toward(constraint: Obj, pod: Obj, other: Obj) -> bool:
    """Whether ``other`` is one of the pods ``constraint`` of ``pod`` spreads: same namespace, matching its
    ``labelSelector`` and, for every ``matchLabelKeys`` key, the pod's own value."""
    meta, other_meta = pod.get("metadata") or {}, other.get("metadata") or {}
    if other_meta.get("namespace") != meta.get("namespace") or other_meta.get("deletionTimestamp"):
        return False
    if (other.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    labels, other_labels = meta.get("labels") or {}, other_meta.get("labels") or {}
    if not match_labels_selector(constraint.get("labelSelector"))(other_labels):
        return False
    return all(other_labels.get(key) == labels.get(key) for key in constraint.get("matchLabelKeys") or [] if key in labels)


def eligible_for_spread(constraint: Obj, spec: Obj, node: Obj) -> bool:
    """Whether ``node`` is one of the domains' nodes: it has the topology key and passes the policies
    (``nodeAffinityPolicy`` Honor by default: the pod's node selector and affinity; ``nodeTaintsPolicy`` Ignore by
    default, Honor: the pod tolerates the node's taints, so a cordoned node is left out)."""
    if constraint["topologyKey"] not in ((node.get("metadata") or {}).get("labels") or {}):
        return False
    if constraint.get("nodeAffinityPolicy", "Honor") == "Honor" and not affinity_matches(spec, node):
        return False
    if constraint.get("nodeTaintsPolicy", "Ignore") == "Honor" and untolerated_taint(spec, node) is not None:
        return False
    return True


def domain_counts(constraint: Obj, pod: Obj, nodes: list[Obj], pods_by_node: dict[str, list[Obj]]) -> dict[str, int]:
    """Topology domain -> how many pods ``constraint`` spreads run there, over the eligible nodes."""
    spec, key = pod.get("spec") or {}, constraint["topologyKey"]
    counts: dict[str, int] = {}
    for node in nodes:
        if not eligible_for_spread(constraint, spec, node):
            continue
        domain = node["metadata"]["labels"][key]
        placed = pods_by_node.get(node["metadata"]["name"]) or []
        counts[domain] = counts.get(domain, 0) + sum(_counts_toward(constraint, pod, other) for other in placed)
    return counts


def skew_if_placed(constraint: Obj, pod: Obj, node: Obj, counts: dict[str, int]) -> int | None:
    """The skew of the domains if ``pod`` went to ``node`` (None when the node has no value for the key)."""
    domain = ((node.get("metadata") or {}).get("labels") or {}).get(constraint["topologyKey"])
    if domain is None:
        return None
    self_match = int(match_labels_selector(constraint.get("labelSelector"))((pod.get("metadata") or {}).get("labels") or {}))
    values = list(counts.values()) or [0]
    minimum = min(values) if len(counts) >= int(constraint.get("minDomains") or 1) else 0
    return counts.get(domain, 0) + self_match - minimum


def spread_misfit(pod: Obj, node: Obj, nodes: list[Obj], pods_by_node: dict[str, list[Obj]]) -> str | None:
    """Why the DoNotSchedule spread constraints of ``pod`` keep it off ``node`` (the scheduler's wording), or None."""
    for constraint in spread_constraints(pod):
        skew = skew_if_placed(constraint, pod, node, domain_counts(constraint, pod, nodes, pods_by_node))
        if skew is None:
            return f"{SPREAD_MISFIT} (missing required label)"
        if skew > int(constraint.get("maxSkew") or 1):
            return SPREAD_MISFIT
    return None


def spread_score(pod: Obj, node: Obj, nodes: list[Obj], pods_by_node: dict[str, list[Obj]]) -> int:
    """Lower is better: the pods the pod's ScheduleAnyway constraints count in the node's domains."""
    score = 0
    for constraint in spread_constraints(pod, hard=False):
        counts = domain_counts(constraint, pod, nodes, pods_by_node)
        domain = ((node.get("metadata") or {}).get("labels") or {}).get(constraint["topologyKey"])
        score += counts.get(domain, 0) if domain is not None else 1000
    return score
