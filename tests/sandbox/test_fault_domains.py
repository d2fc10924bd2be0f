"""What taking a fault domain out of service needs from the sandbox's Kubernetes: the cordon taint, the Eviction
subresource with PodDisruptionBudgets, Pod Topology Spread in the scheduler, and Karpenter's zone choice.

The tests use a cluster of their own, made through EKS, whose nodes they create through the API (two per zone of
us-east-1a and us-east-1b), so the other tests' clusters keep their nodes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from sandbox import Sandbox
from sandbox.kubernetes.nodes import node_object
from sandbox.writers import kubernetes_client

from .helpers import crd, ensure, ready_deployment, wait_for

CLUSTER, REGION = "fault-domains", "us-east-1"
ZONES = ("us-east-1a", "us-east-1b")
CONTAINER = {"name": "app", "image": "nginx:1.27"}
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


@pytest.fixture(scope="module")
def api(sandbox: Sandbox) -> client.ApiClient:
    """The cluster's API, with two m5.large nodes in each of ZONES labelled ``domain=<zone>``."""
    eks, ec2 = sandbox.client("eks", REGION), sandbox.client("ec2", REGION)
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:1]
    eks.create_cluster(name=CLUSTER, version="1.31", roleArn="arn:aws:iam::123456789012:role/fault-domains",
                       resourcesVpcConfig={"subnetIds": subnets})
    api = kubernetes_client(sandbox, CLUSTER)
    core = client.CoreV1Api(api)
    for zone in ZONES:
        for _ in range(2):
            core.create_node(node_object("m5.large", zone, REGION, "v1.31.0-eks-sandbox", {"domain": zone}))
    return api


def zone_nodes(api: client.ApiClient, zone: str) -> list[Any]:
    return client.CoreV1Api(api).list_node(label_selector=f"topology.kubernetes.io/zone={zone}").items


def cordon(api: client.ApiClient, zone: str, cordoned: bool = True) -> None:
    for node in zone_nodes(api, zone):
        client.CoreV1Api(api).patch_node(node.metadata.name, {"spec": {"unschedulable": cordoned or None}})


def spread_deployment(name: str, replicas: int, taints_policy: str | None = None, when: str = "DoNotSchedule",
                      **pod_spec: Any) -> dict[str, Any]:
    labels = {"app": name}
    constraint = {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": when,
                  "labelSelector": {"matchLabels": labels}}
    if taints_policy:
        constraint["nodeTaintsPolicy"] = taints_policy
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [CONTAINER], "topologySpreadConstraints": [constraint], **pod_spec}}}}


def pods(api: client.ApiClient, namespace: str, selector: str) -> list[Any]:
    return client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=selector).items


def zones_of(api: client.ApiClient, namespace: str, selector: str) -> dict[str, int]:
    """Zone -> how many of the pods run (are bound) there."""
    nodes = {n.metadata.name: n.metadata.labels["topology.kubernetes.io/zone"]
             for n in client.CoreV1Api(api).list_node().items}
    counted: dict[str, int] = {}
    for pod in pods(api, namespace, selector):
        if pod.spec.node_name:
            counted[nodes[pod.spec.node_name]] = counted.get(nodes[pod.spec.node_name], 0) + 1
    return counted


def scheduled_message(pod: Any) -> str:
    return next((c.message or "" for c in pod.status.conditions or [] if c.type == "PodScheduled"), "")


def evict(api: client.ApiClient, namespace: str, name: str) -> Any:
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}}
    return api.call_api(f"/api/v1/namespaces/{namespace}/pods/{name}/eviction", "POST", body=body,
                        auth_settings=["BearerToken"], response_type="object", _return_http_data_only=True)


# -- cordon -----------------------------------------------------------------------------------------


def test_cordoned_nodes_get_the_unschedulable_taint_and_lose_it(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    name = zone_nodes(api, ZONES[0])[0].metadata.name
    core.patch_node(name, {"spec": {"unschedulable": True}})
    taints = wait_for(lambda: core.read_node(name).spec.taints)
    assert [{"key": t.key, "effect": t.effect} for t in taints] == [UNSCHEDULABLE_TAINT]
    core.patch_node(name, {"spec": {"unschedulable": None}})
    wait_for(lambda: not core.read_node(name).spec.taints)


# -- eviction and budgets ---------------------------------------------------------------------------


def test_discovery_serves_the_eviction_subresource(api: client.ApiClient) -> None:
    resources = client.CoreV1Api(api).get_api_resources().resources
    eviction = next(r for r in resources if r.name == "pods/eviction")
    assert (eviction.group, eviction.version, eviction.kind, eviction.verbs) == ("policy", "v1", "Eviction", ["create"])


def test_eviction_respects_the_disruption_budget(api: client.ApiClient) -> None:
    ensure(api, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "evict"}})
    client.AppsV1Api(api).create_namespaced_deployment("evict", spread_deployment("web", 2, when="ScheduleAnyway"))
    wait_for(lambda: ready_deployment(api, "evict", "web") and
             client.AppsV1Api(api).read_namespaced_deployment("web", "evict").status.ready_replicas == 2)
    policy = client.PolicyV1Api(api)
    policy.create_namespaced_pod_disruption_budget("evict", {
        "metadata": {"name": "web"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}})
    status = wait_for(lambda: policy.read_namespaced_pod_disruption_budget("web", "evict").status)
    assert (status.current_healthy, status.desired_healthy, status.disruptions_allowed, status.expected_pods) == (2, 2, 0, 2)

    first, second = (p.metadata.name for p in pods(api, "evict", "app=web"))
    with pytest.raises(ApiException) as refused:
        evict(api, "evict", first)
    assert refused.value.status == 429
    answer = json.loads(refused.value.body)
    assert answer["reason"] == "TooManyRequests"
    assert answer["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert answer["details"]["causes"][0]["message"] == "The disruption budget web needs 2 healthy pods and has 2 currently"

    policy.patch_namespaced_pod_disruption_budget("web", "evict", {"spec": {"minAvailable": None, "maxUnavailable": 1}})
    assert evict(api, "evict", first)["status"] == "Success"
    assert first not in {p.metadata.name for p in pods(api, "evict", "app=web")}
    # The replacement is not Ready yet: the one disruption the budget allows is taken.
    with pytest.raises(ApiException) as again:
        evict(api, "evict", second)
    assert again.value.status == 429
    wait_for(lambda: policy.read_namespaced_pod_disruption_budget("web", "evict").status.disruptions_allowed == 1)
    assert evict(api, "evict", second)["status"] == "Success"
    with pytest.raises(ApiException) as missing:
        evict(api, "evict", second)
    assert missing.value.status == 404


# -- Pod Topology Spread -----------------------------------------------------------------------------


def test_spread_places_pods_evenly_across_zones(api: client.ApiClient) -> None:
    ensure(api, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "even"}})
    client.AppsV1Api(api).create_namespaced_deployment("even", spread_deployment("web", 4))
    wait_for(lambda: sum(zones_of(api, "even", "app=web").values()) == 4)
    assert zones_of(api, "even", "app=web") == {ZONES[0]: 2, ZONES[1]: 2}
    client.AppsV1Api(api).delete_namespaced_deployment("web", "even")


@pytest.mark.parametrize("policy, placed", [("Honor", 4), ("Ignore", 1)])
def test_spread_with_a_cordoned_zone(api: client.ApiClient, policy: str, placed: int) -> None:
    """Honor leaves the cordoned (tainted) zone out of the domains, so every pod fits the other zone; Ignore
    counts it with no pods, so maxSkew 1 keeps all but one pod Pending."""
    namespace = f"spread-{policy.lower()}"
    ensure(api, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    cordon(api, ZONES[0])
    try:
        wait_for(lambda: all(n.spec.taints for n in zone_nodes(api, ZONES[0])))
        client.AppsV1Api(api).create_namespaced_deployment(namespace, spread_deployment("web", 4, policy))
        wait_for(lambda: sum(zones_of(api, namespace, "app=web").values()) == placed
                 and len([p for p in pods(api, namespace, "app=web") if scheduled_message(p)]) == 4 - placed)
        assert zones_of(api, namespace, "app=web") == {ZONES[1]: placed}
        for pod in pods(api, namespace, "app=web"):
            if not pod.spec.node_name:
                assert scheduled_message(pod) == (
                    "0/4 nodes are available: 2 node(s) didn't match pod topology spread constraints, "
                    "2 node(s) were unschedulable. preemption: 0/4 nodes are available.")
    finally:
        cordon(api, ZONES[0], False)
        client.CoreV1Api(api).delete_namespace(namespace)


# -- Karpenter ---------------------------------------------------------------------------------------


def test_karpenter_launches_nodes_in_the_zones_spread_asks_for(api: client.ApiClient) -> None:
    """Three pods that each need a node of their own, spread over zones: one node in each of the NodePool's zones."""
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    ensure(api, crd("karpenter.sh", "NodePool", "nodepools", scope="Cluster"))
    ensure(api, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "karpenter"}})
    zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
    ensure(api, {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "spread"}, "spec": {
        "template": {"metadata": {"labels": {"workload": "spread"}}, "spec": {"requirements": [
            {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["m5.large"]},
            {"key": "topology.kubernetes.io/zone", "operator": "In", "values": zones}]}}}})
    labels = {"app.kubernetes.io/name": "karpenter"}
    apps.create_namespaced_deployment("karpenter", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "karpenter"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [CONTAINER]}}}})
    wait_for(lambda: ready_deployment(api, "karpenter", "karpenter"))
    big = {**CONTAINER, "resources": {"requests": {"cpu": "1500m"}}}
    apps.create_namespaced_deployment("karpenter", spread_deployment(
        "burst", 3, containers=[big], nodeSelector={"workload": "spread"}))
    wait_for(lambda: ready_deployment(api, "karpenter", "burst")
             and apps.read_namespaced_deployment("burst", "karpenter").status.ready_replicas == 3, timeout=20)
    launched = core.list_node(label_selector="karpenter.sh/nodepool=spread").items
    assert sorted(n.metadata.labels["topology.kubernetes.io/zone"] for n in launched) == zones


def test_karpenter_spreads_a_batch_of_small_pods_over_the_pools_zones(api: client.ApiClient) -> None:
    """Six pods that would all fit on one node, spread over zones: Karpenter launches a node in each zone of its pool
    (every zone it may launch in is a domain), not one node that takes all of them."""
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    ensure(api, crd("karpenter.sh", "NodePool", "nodepools", scope="Cluster"))
    ensure(api, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "karpenter"}})
    zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
    ensure(api, {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "batch"}, "spec": {
        "template": {"metadata": {"labels": {"workload": "batch"}}, "spec": {"requirements": [
            {"key": "topology.kubernetes.io/zone", "operator": "In", "values": zones}]}}}})
    labels = {"app.kubernetes.io/name": "karpenter"}
    if not apps.list_namespaced_deployment("karpenter", field_selector="metadata.name=karpenter").items:
        apps.create_namespaced_deployment("karpenter", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "karpenter"},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [CONTAINER]}}}})
    wait_for(lambda: ready_deployment(api, "karpenter", "karpenter"))
    apps.create_namespaced_deployment("karpenter", spread_deployment(
        "small", 6, taints_policy="Honor", nodeSelector={"workload": "batch"}))
    wait_for(lambda: ready_deployment(api, "karpenter", "small")
             and apps.read_namespaced_deployment("small", "karpenter").status.ready_replicas == 6, timeout=20)
    launched = core.list_node(label_selector="karpenter.sh/nodepool=batch").items
    assert sorted(n.metadata.labels["topology.kubernetes.io/zone"] for n in launched) == zones
    assert zones_of(api, "karpenter", "app=small") == {zone: 2 for zone in zones}
