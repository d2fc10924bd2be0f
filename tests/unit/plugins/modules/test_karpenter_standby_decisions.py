"""karpenter_standby's decisions: input, target replicas, the Karpenter API, which pods wait, whether capacity is ready."""

import pytest

from ansible_collections.eks_ha.resilience.plugins.module_utils.k8s import parse_label_selector
from ansible_collections.eks_ha.resilience.plugins.modules.karpenter_standby import capacity_problems
from ansible_collections.eks_ha.resilience.plugins.modules.karpenter_standby import capacity_ready
from ansible_collections.eks_ha.resilience.plugins.modules.karpenter_standby import current_replicas
from ansible_collections.eks_ha.resilience.plugins.modules.karpenter_standby import deployment_not_found
from ansible_collections.eks_ha.resilience.plugins.modules.karpenter_standby import karpenter_problem
from ansible_collections.eks_ha.resilience.plugins.modules.karpenter_standby import no_karpenter_api
from ansible_collections.eks_ha.resilience.plugins.modules.karpenter_standby import outpost_cluster_problem
from ansible_collections.eks_ha.resilience.plugins.modules.karpenter_standby import pick_karpenter_api
from ansible_collections.eks_ha.resilience.plugins.modules.karpenter_standby import pods_waiting_for_capacity
from ansible_collections.eks_ha.resilience.plugins.modules.karpenter_standby import ready_node_count
from ansible_collections.eks_ha.resilience.plugins.modules.karpenter_standby import target_replicas
from ansible_collections.eks_ha.resilience.plugins.modules.karpenter_standby import validate_request
from ansible_collections.eks_ha.resilience.plugins.modules.karpenter_standby import waits_for_node

# -- input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, sentence", [
    (("active", 2, None, 600), None),
    (("standby", 0, "region", 600), None),
    (("standby", 2, "local_zone", 1, "app=web"), None),
    (("active", 0, None, 600),
     "replicas must be at least 1 with state=active, got 0; use state=standby to scale Karpenter to 0."),
    (("active", -1, "region", 600),
     "replicas must be at least 1 with state=active, got -1; use state=standby to scale Karpenter to 0."),
    (("standby", 2, "outpost", 600),
     "site_kind=outpost is refused: Karpenter does not run on AWS Outposts, so an Outposts site has no Karpenter "
     "standby; use site_kind region or local_zone, or keep the Outpost's capacity in its node groups."),
    (("active", 2, None, 0), "wait_timeout must be at least 1 second, got 0."),
    (("active", 2, None, 600, "app in web"),
     "pod_selector must be a label selector such as app=web or tier in (web,api), got 'app in web': "
     "'app in web' is not a requirement (key=value, key!=value, key in (a,b), key notin (a,b), key, !key)."),
])
def test_validate_request(args, sentence):
    assert validate_request(*args) == sentence


def test_outpost_cluster_is_refused():
    cluster = {"status": "ACTIVE", "outpostConfig": {"outpostArns": ["arn:aws:outposts:us-west-2:1:outpost/op-1"]}}
    assert outpost_cluster_problem(cluster, "eks-ha-outposts") == (
        "EKS cluster 'eks-ha-outposts' runs on AWS Outposts (it has outpostConfig), where Karpenter does not run; "
        "this module only manages Karpenter in Regions and Local Zones.")
    assert outpost_cluster_problem({"status": "ACTIVE"}, "lz") is None
    assert outpost_cluster_problem(None, None) is None


def test_sentences_for_missing_things():
    assert deployment_not_found("karpenter", ("karpenter", "kube-system")) == (
        "Deployment 'karpenter' was not found in namespace karpenter or kube-system; set namespace (and deployment) "
        "to where the Karpenter controller runs.")
    assert deployment_not_found("kc", ("ops",)).startswith("Deployment 'kc' was not found in namespace ops;")
    assert no_karpenter_api() == (
        "the cluster holds no NodePool (karpenter.sh/v1) and no Provisioner (karpenter.sh/v1alpha5), so Karpenter "
        "would create no nodes; apply one before state=active.")


# -- replicas and API -----------------------------------------------------------------------------


@pytest.mark.parametrize("state, replicas, expected", [("standby", 2, 0), ("active", 2, 2), ("active", 5, 5)])
def test_target_replicas(state, replicas, expected):
    assert target_replicas(state, replicas) == expected


@pytest.mark.parametrize("deployment, expected", [
    ({"spec": {"replicas": 0}}, 0), ({"spec": {"replicas": 3}}, 3), ({"spec": {}}, 1), ({}, 1)])
def test_current_replicas(deployment, expected):
    assert current_replicas(deployment) == expected


@pytest.mark.parametrize("nodepools, provisioners, expected", [
    ([{"metadata": {"name": "default"}}], None, "karpenter.sh/v1"),
    ([{"metadata": {"name": "default"}}], [{"metadata": {"name": "old"}}], "karpenter.sh/v1"),
    ([], [{"metadata": {"name": "default"}}], "karpenter.sh/v1alpha5"),
    (None, [{"metadata": {"name": "default"}}], "karpenter.sh/v1alpha5"),
    ([], [], None),
    (None, None, None),
])
def test_pick_karpenter_api(nodepools, provisioners, expected):
    assert pick_karpenter_api(nodepools, provisioners) == expected


# -- pods and nodes -------------------------------------------------------------------------------


def pod(name, namespace="shop", phase="Pending", node=None, scheduled=("False", "Unschedulable"), labels=None):
    conditions = []
    if scheduled:
        conditions.append({"type": "PodScheduled", "status": scheduled[0], "reason": scheduled[1]})
    if phase == "Running":
        conditions.append({"type": "Ready", "status": "True"})
    spec = {"nodeName": node} if node else {}
    return {"kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": labels or {"app": "web"}},
            "spec": spec, "status": {"phase": phase, "conditions": conditions}}


def node(name, is_ready=True):
    return {"kind": "Node", "metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": "True" if is_ready else "False"}]}}


@pytest.mark.parametrize("obj, expected", [
    (pod("a"), True),
    (pod("a", scheduled=None), True),
    (pod("a", scheduled=("False", "SchedulingGated")), False),
    (pod("a", node="n1", scheduled=("True", None)), False),
    (pod("a", phase="Running", node="n1", scheduled=("True", None)), False),
    (pod("a", phase="Failed"), False),
])
def test_waits_for_node(obj, expected):
    assert waits_for_node(obj) is expected


def test_default_scope_leaves_out_platform_namespaces():
    pods = [pod("web-1"), pod("coredns", "kube-system"), pod("karpenter-1", "karpenter"),
            pod("source-controller", "flux-system"), pod("web-2", node="n1", phase="Running", scheduled=("True", None))]
    assert [p["metadata"]["name"] for p in pods_waiting_for_capacity(pods)] == ["web-1"]


def test_selector_scope_counts_only_matching_pods_in_any_namespace():
    pods = [pod("web-1"), pod("db-1", labels={"app": "db"}), pod("agent", "kube-system", labels={"app": "web"})]
    names = [p["metadata"]["name"] for p in pods_waiting_for_capacity(pods, parse_label_selector("app=web"))]
    assert names == ["web-1", "agent"]


def test_ready_node_count():
    assert ready_node_count([node("a"), node("b", is_ready=False), node("c")]) == 2
    assert ready_node_count([]) == 0


def test_capacity_ready_when_every_workload_pod_has_a_ready_node():
    pods = [pod("web-1", phase="Running", node="n1", scheduled=("True", None)),
            pod("web-2", phase="Pending", node="n2", scheduled=("True", None)),
            pod("coredns", "kube-system")]
    assert capacity_ready(pods, [node("n1"), node("n2"), node("control")])
    assert capacity_problems(pods, [node("n1"), node("n2")]) == []


def test_capacity_not_ready_while_pods_wait():
    pods = [pod(f"web-{i}") for i in range(7)] + [pod("web-x", phase="Running", node="n1", scheduled=("True", None))]
    assert not capacity_ready(pods, [node("n1")])
    assert capacity_problems(pods, [node("n1")]) == [
        "7 pods still wait for a node (shop/web-0, shop/web-1, shop/web-2, shop/web-3, shop/web-4 and 2 more)"]


def test_capacity_not_ready_while_a_workload_node_is_not_ready():
    pods = [pod("web-1", phase="Pending", node="n1", scheduled=("True", None))]
    assert capacity_problems(pods, [node("n1", is_ready=False)]) == ["nodes not Ready: n1"]
    assert capacity_problems(pods, []) == ["nodes not Ready: n1"]


def test_no_workload_means_capacity_ready():
    assert capacity_ready([], [node("control")])


def test_karpenter_problem():
    ready_deployment = {"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 2},
                        "status": {"observedGeneration": 2, "readyReplicas": 2, "availableReplicas": 2}}
    assert karpenter_problem(ready_deployment, 2) is None
    starting = dict(ready_deployment, status={"observedGeneration": 2, "readyReplicas": 1, "availableReplicas": 1})
    assert karpenter_problem(starting, 2) == "the Karpenter Deployment has 1 of 2 replicas ready"
