"""fault_domain's refusals: the request, the domain and the workloads, one sentence each."""

import pytest

from ansible_collections.eks_ha.resilience.plugins.modules.fault_domain import domain_refusal
from ansible_collections.eks_ha.resilience.plugins.modules.fault_domain import validate_request
from ansible_collections.eks_ha.resilience.plugins.modules.fault_domain import workload_refusal

WEB = {"namespace": "shop", "name": "web", "min_ready": None}


def node(name, zone="us-east-1a", unschedulable=False, ready=True):
    return {"metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": zone}},
            "spec": {"unschedulable": True} if unschedulable else {},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


@pytest.mark.parametrize("nodes, timeout, workloads, sentence", [
    ("topology.kubernetes.io/zone=us-east-1a", 600, [WEB], None),
    ("eks-ha.resilience/node-group in (outpost-1)", 1, [], None),
    ("zone in a", 600, [],
     "nodes must be a label selector of the fault domain's nodes, such as topology.kubernetes.io/zone=us-east-1a, "
     "got 'zone in a': 'zone in a' is not a requirement (key=value, key!=value, key in (a,b), key notin (a,b), key, !key)."),
    ("zone=a", 0, [], "wait_timeout must be at least 1 second, got 0."),
    ("zone=a", 600, [dict(WEB, min_ready=-1)], "workloads[0].min_ready must be 0 or more, got -1."),
    ("zone=a", 600, [WEB, dict(WEB, min_ready=2)],
     "workloads[1] names Deployment shop/web a second time; name each workload once."),
])
def test_validate_request(nodes, timeout, workloads, sentence):
    assert validate_request(nodes, timeout, workloads) == sentence


@pytest.mark.parametrize("state, domain, everything, sentence", [
    ("drained", [node("a1")], [node("a1"), node("b1", "us-east-1b")], None),
    ("drained", [], [node("a1")],
     "nodes 'zone=x' matches no node of the cluster; give a label selector of the fault domain's nodes, such as "
     "topology.kubernetes.io/zone=us-east-1a."),
    ("restored", [], [node("a1")],
     "nodes 'zone=x' matches no node of the cluster; give a label selector of the fault domain's nodes, such as "
     "topology.kubernetes.io/zone=us-east-1a."),
    ("drained", [node("a1"), node("b1")], [node("a1"), node("b1")],
     "nodes 'zone=x' matches every schedulable node of the cluster (2), so no capacity would remain after the drain; "
     "narrow nodes to one fault domain."),
    # The nodes outside the domain are cordoned or not Ready: nothing could take the pods either.
    ("drained", [node("a1")], [node("a1"), node("b1", unschedulable=True), node("c1", ready=False)],
     "nodes 'zone=x' matches every schedulable node of the cluster (1), so no capacity would remain after the drain; "
     "narrow nodes to one fault domain."),
    ("restored", [node("a1"), node("b1")], [node("a1"), node("b1")], None),
])
def test_domain_refusal(state, domain, everything, sentence):
    assert domain_refusal("zone=x", state, domain, everything) == sentence


@pytest.mark.parametrize("workload, deployment, sentence", [
    (WEB, {"spec": {"replicas": 4}}, None),
    (dict(WEB, min_ready=4), {"spec": {"replicas": 4}}, None),
    (dict(WEB, min_ready=0), {"spec": {}}, None),
    (WEB, None, "workloads[2] names Deployment shop/web, which does not exist; list Deployments by their namespace and name."),
    (dict(WEB, min_ready=5), {"spec": {"replicas": 4}},
     "workloads[2].min_ready is 5 but Deployment shop/web has 4 replicas; min_ready must be between 0 and 4."),
    (dict(WEB, min_ready=2), {"spec": {}},
     "workloads[2].min_ready is 2 but Deployment shop/web has 1 replicas; min_ready must be between 0 and 1."),
])
def test_workload_refusal(workload, deployment, sentence):
    assert workload_refusal(2, workload, deployment) == sentence
