"""fault_domain's plans: what a drain cordons and evicts, what a restore uncordons, and when a workload is done."""

import pytest

from ansible_collections.eks_ha.resilience.plugins.modules.fault_domain import drained_problem
from ansible_collections.eks_ha.resilience.plugins.modules.fault_domain import evictable
from ansible_collections.eks_ha.resilience.plugins.modules.fault_domain import pending_reasons
from ansible_collections.eks_ha.resilience.plugins.modules.fault_domain import plan_drain
from ansible_collections.eks_ha.resilience.plugins.modules.fault_domain import plan_uncordon
from ansible_collections.eks_ha.resilience.plugins.modules.fault_domain import restored_problem
from ansible_collections.eks_ha.resilience.plugins.modules.fault_domain import workload_report

DEPLOYMENT = {"metadata": {"namespace": "shop", "name": "web"},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}}}


def node(name, zone, unschedulable=False):
    return {"metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": zone}},
            "spec": {"unschedulable": unschedulable}}


def pod(name, node_name=None, ready=True, owner=None, namespace="shop", labels=None, **metadata):
    status = {"phase": "Running" if ready else "Pending",
              "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if not node_name:
        status["conditions"].append({"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                     "message": "0/4 nodes are available: 4 Insufficient cpu."})
    return {"metadata": dict({"name": name, "namespace": namespace, "labels": labels or {"app": "web"},
                              "ownerReferences": [{"kind": owner, "name": "x"}] if owner else []}, **metadata),
            "spec": {"nodeName": node_name} if node_name else {}, "status": status}


@pytest.mark.parametrize("candidate, expected", [
    (pod("web-1", "a1", owner="ReplicaSet"), True),
    (pod("bare", "a1"), True),
    (pod("agent-1", "a1", owner="DaemonSet"), False),
    (pod("kube-proxy-a1", "a1", annotations={"kubernetes.io/config.mirror": "abc"}), False),
    (pod("web-2", "a1", owner="ReplicaSet", deletionTimestamp="2024-01-01T00:00:00Z"), False),
])
def test_evictable(candidate, expected):
    assert evictable(candidate) is expected


@pytest.mark.parametrize("nodes, pods, cordon, evict", [
    ([node("a1", "a"), node("a2", "a")], [pod("web-1", "a1", owner="ReplicaSet"), pod("agent", "a1", owner="DaemonSet")],
     ["a1", "a2"], ["shop/web-1"]),
    # Drained already: nothing to cordon, nothing to evict.
    ([node("a1", "a", True)], [pod("agent", "a1", owner="DaemonSet")], [], []),
    ([node("a1", "a", True), node("a2", "a")], [pod("web-2", "a2"), pod("web-1", "a1")], ["a2"],
     ["shop/web-1", "shop/web-2"]),
])
def test_plan_drain(nodes, pods, cordon, evict):
    assert plan_drain(nodes, pods) == (cordon, evict)


@pytest.mark.parametrize("nodes, uncordon", [
    ([node("a1", "a", True), node("a2", "a")], ["a1"]),
    ([node("a1", "a")], []),
])
def test_plan_uncordon(nodes, uncordon):
    assert plan_uncordon(nodes) == uncordon


NODES = [node("a1", "us-east-1a", True), node("b1", "us-east-1b"), node("b2", "us-east-1b")]


@pytest.mark.parametrize("pods, min_ready, report, problem", [
    ([pod("web-1", "b1"), pod("web-2", "b2")], None,
     {"replicas": 2, "ready": 2, "min_ready": 2, "pods_per_zone": {"us-east-1b": 2}, "pods_on_domain": 0}, None),
    ([pod("web-1", "b1"), pod("web-2", "a1"), pod("other", "b2", labels={"app": "other"})], 1,
     {"replicas": 2, "ready": 2, "min_ready": 1, "pods_per_zone": {"us-east-1a": 1, "us-east-1b": 1},
      "pods_on_domain": 1}, "shop/web has 1 pods still on the domain's nodes"),
    ([pod("web-1", "b1"), pod("web-2", ready=False), pod("web-3", "b1", namespace="elsewhere")], None,
     {"replicas": 2, "ready": 1, "min_ready": 2, "pods_per_zone": {"us-east-1b": 1}, "pods_on_domain": 0},
     "shop/web has 1 Ready pods of min_ready 2 (1 not Ready: shop/web-2: 0/4 nodes are available: 4 Insufficient cpu.)"),
])
def test_workload_report_and_drained_problem(pods, min_ready, report, problem):
    workload = {"namespace": "shop", "name": "web", "min_ready": min_ready}
    made = workload_report(workload, DEPLOYMENT, pods, NODES, {"a1"})
    assert made == dict(report, namespace="shop", name="web")
    mine = [p for p in pods if p["metadata"]["namespace"] == "shop" and p["metadata"]["labels"]["app"] == "web"]
    assert drained_problem(made, mine) == problem


def test_pending_reasons_say_why():
    starting = pod("web-3", "b1", ready=False)
    assert pending_reasons([pod("web-1", "b1"), pod("web-2", ready=False), starting]) == [
        ("shop/web-2", "0/4 nodes are available: 4 Insufficient cpu."), ("shop/web-3", "starting on b1")]


@pytest.mark.parametrize("status, pods, violations, problem", [
    ({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2},
     [pod("web-1", "b1"), pod("web-2", "b2")], [], None),
    # Still rolling out: an old pod is left.
    ({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2},
     [pod("web-1", "b1"), pod("web-2", "b2"), pod("web-0", "b2")], [],
     "shop/web has a rollout in progress (3 pods for 2 replicas)"),
    ({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1},
     [pod("web-1", "b1"), pod("web-2", None, ready=False)], [],
     "shop/web has 1 Ready pods of 2 replicas (1 not Ready: shop/web-2: 0/4 nodes are available: 4 Insufficient cpu.)"),
    ({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2},
     [pod("web-1", "b1"), pod("web-2", "b2")], ["its pods are 0 in a, 2 in b, more than maxSkew 1 apart over zone"],
     "shop/web has its pods are 0 in a, 2 in b, more than maxSkew 1 apart over zone"),
])
def test_restored_problem(status, pods, violations, problem):
    deployment = dict(DEPLOYMENT, metadata=dict(DEPLOYMENT["metadata"], generation=2), status=status)
    report = workload_report({"namespace": "shop", "name": "web", "min_ready": None}, deployment, pods, NODES, set())
    assert restored_problem(report, deployment, pods, violations) == problem
