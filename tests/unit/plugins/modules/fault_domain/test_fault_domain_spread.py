"""fault_domain's view of Pod Topology Spread: which nodes are domains, how pods count, when a workload is unbalanced."""

import pytest

from ansible_collections.eks_ha.resilience.plugins.modules.fault_domain import node_affinity_matches
from ansible_collections.eks_ha.resilience.plugins.modules.fault_domain import spread_counts
from ansible_collections.eks_ha.resilience.plugins.modules.fault_domain import spread_domains
from ansible_collections.eks_ha.resilience.plugins.modules.fault_domain import spread_violations
from ansible_collections.eks_ha.resilience.plugins.modules.fault_domain import tolerates
from ansible_collections.eks_ha.resilience.plugins.modules.fault_domain import with_schedulable

ZONE = "topology.kubernetes.io/zone"
CORDON = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
GPU = {"key": "gpu", "value": "true", "effect": "NoSchedule"}


def node(name, zone, unschedulable=False, taints=None, labels=None, ready=True):
    return {"metadata": {"name": name, "labels": dict({ZONE: zone}, **(labels or {}))},
            "spec": {"unschedulable": unschedulable, "taints": taints or []},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def pod(name, node_name, labels=None, phase="Running"):
    return {"metadata": {"name": name, "namespace": "shop", "labels": labels or {"app": "web"}},
            "spec": {"nodeName": node_name}, "status": {"phase": phase}}


def constraint(**extra):
    return dict({"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
                 "labelSelector": {"matchLabels": {"app": "web"}}}, **extra)


def deployment(*constraints, **pod_spec):
    return {"metadata": {"namespace": "shop", "name": "web"},
            "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": dict({"topologySpreadConstraints": list(constraints)}, **pod_spec)}}}


@pytest.mark.parametrize("tolerations, taint, expected", [
    ([], GPU, False),
    ([{"key": "gpu", "operator": "Exists"}], GPU, True),
    ([{"key": "gpu", "value": "true"}], GPU, True),
    ([{"key": "gpu", "value": "false"}], GPU, False),
    ([{"key": "gpu", "operator": "Exists", "effect": "NoExecute"}], GPU, False),
    ([{"operator": "Exists"}], GPU, True),
    ([{"value": "true"}], GPU, False),
])
def test_tolerates(tolerations, taint, expected):
    assert tolerates(tolerations, taint) is expected


@pytest.mark.parametrize("pod_spec, labels, expected", [
    ({}, {}, True),
    ({"nodeSelector": {"pool": "web"}}, {"pool": "web"}, True),
    ({"nodeSelector": {"pool": "web"}}, {}, False),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["a"]}]},
        {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["b"]}]}]}}}}, {"pool": "b"}, True),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "pool", "operator": "NotIn", "values": ["b"]}]}]}}}}, {"pool": "b"}, False),
])
def test_node_affinity_matches(pod_spec, labels, expected):
    assert node_affinity_matches(pod_spec, node("n", "a", labels=labels)) is expected


NODES = [node("a1", "a"), node("a2", "a", unschedulable=True, taints=[CORDON]), node("b1", "b", taints=[GPU]),
         node("c1", "c", ready=False), node("d1", "d", labels={"pool": "other"})]


@pytest.mark.parametrize("extra, pod_spec, domains", [
    # Cordoned and not Ready nodes are never schedulable; the taint policy defaults to Ignore.
    ({}, {}, {"a": {"a1"}, "b": {"b1"}, "d": {"d1"}}),
    ({"nodeTaintsPolicy": "Honor"}, {}, {"a": {"a1"}, "d": {"d1"}}),
    ({"nodeTaintsPolicy": "Honor"}, {"tolerations": [{"key": "gpu", "operator": "Exists"}]},
     {"a": {"a1"}, "b": {"b1"}, "d": {"d1"}}),
    ({}, {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "pool", "operator": "DoesNotExist"}]}]}}}}, {"a": {"a1"}, "b": {"b1"}}),
    ({"nodeAffinityPolicy": "Ignore"}, {"nodeSelector": {"pool": "other"}}, {"a": {"a1"}, "b": {"b1"}, "d": {"d1"}}),
    ({"topologyKey": "kubernetes.io/hostname"}, {}, {}),
])
def test_spread_domains(extra, pod_spec, domains):
    assert spread_domains(constraint(**extra), pod_spec, NODES) == domains


def test_spread_counts_only_live_bound_matching_pods():
    pods = [pod("w1", "a1"), pod("w2", "a1"), pod("w3", "b1"), pod("w4", None), pod("w5", "d1", phase="Succeeded"),
            pod("x1", "d1", labels={"app": "other"}), pod("w6", "a2")]
    assert spread_counts(constraint(), {}, NODES, pods) == {"a": 2, "b": 1, "d": 0}


TWO_ZONES = [node("a1", "us-east-1a"), node("a2", "us-east-1a"), node("b1", "us-east-1b"), node("b2", "us-east-1b")]


@pytest.mark.parametrize("where, extra, violations", [
    (["a1", "a2", "b1", "b2"], {}, []),
    (["a1", "a1", "a2", "b1"], {},
     ["its pods are 3 in us-east-1a, 1 in us-east-1b, more than maxSkew 1 apart over topology.kubernetes.io/zone"]),
    (["b1", "b1", "b2", "b2"], {},
     ["its pods are 0 in us-east-1a, 4 in us-east-1b, more than maxSkew 1 apart over topology.kubernetes.io/zone"]),
    (["b1", "b1", "b2", "a2"], {"maxSkew": 2}, []),
    (["b1", "b1", "b2", "b2"], {"whenUnsatisfiable": "ScheduleAnyway"},
     ["its pods are 0 in us-east-1a, 4 in us-east-1b, more than maxSkew 1 apart over topology.kubernetes.io/zone"]),
    # One domain only: nothing to balance against.
    (["b1", "b1", "b2", "b2"], {"topologyKey": "kubernetes.io/os"}, []),
])
def test_spread_violations(where, extra, violations):
    pods = [pod(f"w{i}", n) for i, n in enumerate(where)]
    assert spread_violations(deployment(constraint(**extra)), TWO_ZONES, pods) == violations


def test_a_cordoned_domain_counts_once_restored():
    cordoned = [node("a1", "us-east-1a", True, [CORDON]), node("b1", "us-east-1b")]
    pods = [pod("w1", "b1"), pod("w2", "b1")]
    honor = deployment(constraint(nodeTaintsPolicy="Honor"))
    assert spread_violations(honor, cordoned, pods) == []
    # Uncordoned but still carrying the taint for a moment: the domain counts (the taint is on its way out).
    assert spread_violations(honor, with_schedulable(cordoned, {"a1"}), pods) == [
        "its pods are 0 in us-east-1a, 2 in us-east-1b, more than maxSkew 1 apart over topology.kubernetes.io/zone"]
    assert cordoned[0]["spec"]["unschedulable"] is True
