"""fault_domain run by Ansible against a sandbox EKS cluster whose nodes are in two Availability Zones.

The sandbox is seeded from a small inventory: one cluster with a node group of two m5.large nodes in each of
us-east-1a and us-east-1b. The setup installs, with the kubernetes client, a Deployment of 4 replicas spread over the
zones (maxSkew 1, DoNotSchedule, nodeTaintsPolicy Honor, matchLabelKeys pod-template-hash so a rollout spreads its new
pods among themselves), a PodDisruptionBudget allowing one pod down, and a DaemonSet, which a drain leaves alone. The
tests run in file order on one cluster: each step starts from the state the previous one left.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes import client

from ..conftest import kubernetes_api
from .plays import REPO, task

pytestmark = pytest.mark.integration

INVENTORY = REPO / "tests" / "integration" / "modules" / "fault_domain_inventory"
# The sandbox seeds control planes only: the node groups come from playbooks/sites.yml.
NODE_GROUPS = True
CLUSTER, REGION = "fault-domain-shop", "us-east-1"
NAMESPACE = "shop"
ZONE_A, ZONE_B = "us-east-1a", "us-east-1b"
DOMAIN = f"topology.kubernetes.io/zone={ZONE_A}"
WEB = {"namespace": NAMESPACE, "name": "web"}
CONTAINER = {"name": "app", "image": "nginx:1.27"}
WAIT_TIMEOUT = 60


def fault_domain(state: str, check: bool = False, diff: bool = False, **extra: Any) -> dict[str, Any]:
    args = {"eks_cluster": CLUSTER, "region": REGION, "nodes": DOMAIN, "state": state, "workloads": [WEB],
            "wait_timeout": WAIT_TIMEOUT}
    return task("fault_domain", dict(args, **extra), check=check, diff=diff)


class Cluster:
    """The typed APIs of the cluster, and what the tests look at."""

    def __init__(self, api: client.ApiClient):
        self.core, self.apps, self.policy = client.CoreV1Api(api), client.AppsV1Api(api), client.PolicyV1Api(api)

    def zone_of(self) -> dict[str, str]:
        return {n.metadata.name: n.metadata.labels["topology.kubernetes.io/zone"] for n in self.core.list_node().items}

    def pods(self, selector: str) -> list[Any]:
        return self.core.list_namespaced_pod(NAMESPACE, label_selector=selector).items

    def per_zone(self, selector: str = "app=web") -> dict[str, int]:
        zones, counted = self.zone_of(), {}
        for pod in self.pods(selector):
            if pod.spec.node_name and pod.metadata.deletion_timestamp is None:
                zone = zones[pod.spec.node_name]
                counted[zone] = counted.get(zone, 0) + 1
        return counted

    def nodes(self, zone: str) -> list[Any]:
        return self.core.list_node(label_selector=f"topology.kubernetes.io/zone={zone}").items

    def cordoned(self) -> dict[str, bool]:
        return {n.metadata.name: bool(n.spec.unschedulable) for n in self.core.list_node().items}

    def state(self) -> tuple[dict[str, bool], list[str]]:
        """What a run must not change when it refuses or checks: cordons and the pods (by name)."""
        return self.cordoned(), sorted(p.metadata.name for p in self.core.list_namespaced_pod(NAMESPACE).items)

    def ready(self, name: str) -> int:
        status = self.apps.read_namespaced_deployment(name, NAMESPACE).status  # None until the controller's first pass
        return (status.ready_replicas or 0) if status else 0


def wait_until(condition, message: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(message)
        time.sleep(0.2)


def deployment(name: str, replicas: int, labels: dict[str, str], pod_spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": pod_spec}}}


@pytest.fixture(scope="module")
def cluster(sandbox):
    """The web Deployment spread 2 + 2 over the zones, its PodDisruptionBudget and a DaemonSet."""
    kube = Cluster(kubernetes_api(sandbox, CLUSTER))
    kube.core.create_namespace({"metadata": {"name": NAMESPACE}})
    labels = {"app": "web"}
    kube.apps.create_namespaced_deployment(NAMESPACE, deployment("web", 4, labels, {
        "containers": [CONTAINER],
        "topologySpreadConstraints": [{
            "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
            "nodeTaintsPolicy": "Honor", "labelSelector": {"matchLabels": labels},
            "matchLabelKeys": ["pod-template-hash"]}]}))
    kube.policy.create_namespaced_pod_disruption_budget(NAMESPACE, {
        "metadata": {"name": "web"}, "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}}})
    agent = deployment("agent", 0, {"app": "agent"}, {"containers": [CONTAINER]})
    agent["kind"] = "DaemonSet"
    del agent["spec"]["replicas"]
    kube.apps.create_namespaced_daemon_set(NAMESPACE, agent)
    wait_until(lambda: kube.ready("web") == 4 and kube.per_zone() == {ZONE_A: 2, ZONE_B: 2},
               "web did not become Ready 2 + 2 over the zones")
    wait_until(lambda: len(kube.pods("app=agent")) == 4, "the DaemonSet did not run on every node")
    return kube


# -- bad input: one sentence each, nothing changed ----------------------------------------------------

BAD_INPUTS = [
    ("no node", fault_domain("drained", nodes="topology.kubernetes.io/zone=us-east-1c"),
     "nodes 'topology.kubernetes.io/zone=us-east-1c' matches no node of the cluster; give a label selector of the "
     "fault domain's nodes, such as topology.kubernetes.io/zone=us-east-1a."),
    ("every node", fault_domain("drained", nodes="eks-ha.resilience/node-group in (zone-a,zone-b)"),
     "nodes 'eks-ha.resilience/node-group in (zone-a,zone-b)' matches every schedulable node of the cluster (4), so "
     "no capacity would remain after the drain; narrow nodes to one fault domain."),
    ("unknown workload", fault_domain("drained", workloads=[WEB, {"namespace": NAMESPACE, "name": "nope"}]),
     "workloads[1] names Deployment shop/nope, which does not exist; list Deployments by their namespace and name."),
    ("min_ready", fault_domain("drained", workloads=[dict(WEB, min_ready=5)]),
     "workloads[0].min_ready is 5 but Deployment shop/web has 4 replicas; min_ready must be between 0 and 4."),
    ("state", fault_domain("gone"), "value of state must be one of: drained, restored, got: gone"),
    ("selector", fault_domain("drained", nodes="zone in us-east-1a"),
     "nodes must be a label selector of the fault domain's nodes, such as topology.kubernetes.io/zone=us-east-1a, "
     "got 'zone in us-east-1a': 'zone in us-east-1a' is not a requirement (key=value, key!=value, key in (a,b), "
     "key notin (a,b), key, !key)."),
    ("wait_timeout", fault_domain("drained", wait_timeout=0), "wait_timeout must be at least 1 second, got 0."),
]


def test_bad_inputs_fail_with_one_sentence_and_change_nothing(cluster, run):
    before = cluster.state()
    results = run(*(spec for _name, spec, _sentence in BAD_INPUTS))
    for (name, _spec, sentence), result in zip(BAD_INPUTS, results):
        assert result.get("failed"), name
        assert result["msg"] == sentence, name
        assert not result["changed"], name
    assert cluster.state() == before


# -- drained -------------------------------------------------------------------------------------------


def test_drained_check_mode_changes_nothing(cluster, run):
    before = cluster.state()
    on_a = sorted(f"{NAMESPACE}/{p.metadata.name}" for p in cluster.pods("app=web")
                  if cluster.zone_of()[p.spec.node_name] == ZONE_A)
    result = run(fault_domain("drained", check=True, diff=True))[0]
    assert not result.get("failed"), result
    assert result["changed"]
    assert result["evicted"] == on_a  # the DaemonSet's pods stay
    names = {n.metadata.name for n in cluster.nodes(ZONE_A)}
    assert result["diff"] == {"before": {"nodes": {n: {"unschedulable": False} for n in names}},
                              "after": {"nodes": {n: {"unschedulable": True} for n in names}}}
    assert {(n["name"], n["zone"], n["unschedulable"]) for n in result["nodes"]} == {(n, ZONE_A, True) for n in names}
    assert len(result["actions"]) == 4 and all(a.startswith("Would ") for a in result["actions"])
    time.sleep(1)
    assert cluster.state() == before


def test_drained_moves_every_pod_to_the_other_zone(cluster, run):
    agents = sorted(p.metadata.name for p in cluster.pods("app=agent"))
    result = run(fault_domain("drained", diff=True))[0]
    assert not result.get("failed"), result
    assert result["changed"]
    assert len(result["evicted"]) == 2
    assert result["workloads"] == [{"namespace": NAMESPACE, "name": "web", "replicas": 4, "ready": 4, "min_ready": 4,
                                    "pods_per_zone": {ZONE_B: 4}, "pods_on_domain": 0}]
    assert all(n["unschedulable"] for n in result["nodes"])
    # The budget allows one pod down: the second eviction waited for the first replacement to be Ready.
    assert any("refusals of its PodDisruptionBudget" in action for action in result["actions"]), result["actions"]
    assert cluster.per_zone() == {ZONE_B: 4}
    for node in cluster.nodes(ZONE_A):
        assert node.spec.unschedulable
        wait_until(lambda name=node.metadata.name: any(
            t.key == "node.kubernetes.io/unschedulable" for t in cluster.core.read_node(name).spec.taints or []),
            "a cordoned node did not get the unschedulable taint", timeout=5)
    assert sorted(p.metadata.name for p in cluster.pods("app=agent")) == agents


def test_drained_again_is_unchanged(cluster, run):
    result = run(fault_domain("drained"))[0]
    assert not result.get("failed"), result
    assert not result["changed"]
    assert result["evicted"] == [] and result["restarted"] == []
    assert result["workloads"][0]["pods_per_zone"] == {ZONE_B: 4}


# -- restored ------------------------------------------------------------------------------------------


def test_restored_check_mode_changes_nothing(cluster, run):
    before = cluster.state()
    result = run(fault_domain("restored", check=True, diff=True))[0]
    assert not result.get("failed"), result
    assert result["changed"]
    assert result["restarted"] == [f"{NAMESPACE}/web"]
    assert all(not n["unschedulable"] for n in result["nodes"])
    assert all(v["unschedulable"] for v in result["diff"]["before"]["nodes"].values())
    assert not any(v["unschedulable"] for v in result["diff"]["after"]["nodes"].values())
    assert any("pods are 0 in us-east-1a, 4 in us-east-1b, more than maxSkew 1 apart" in a for a in result["actions"])
    time.sleep(1)
    assert cluster.state() == before


def test_restored_uncordons_and_rebalances(cluster, run):
    result = run(fault_domain("restored", diff=True))[0]
    assert not result.get("failed"), result
    assert result["changed"]
    assert result["restarted"] == [f"{NAMESPACE}/web"]
    assert result["workloads"][0]["pods_per_zone"] == {ZONE_A: 2, ZONE_B: 2}
    assert result["workloads"][0]["ready"] == 4
    assert not any(cluster.cordoned().values())
    template = cluster.apps.read_namespaced_deployment("web", NAMESPACE).spec.template
    assert "eks-ha.resilience/rebalanced-at" in template.metadata.annotations
    assert cluster.per_zone() == {ZONE_A: 2, ZONE_B: 2}


def test_restored_again_is_unchanged(cluster, run):
    result = run(fault_domain("restored"))[0]
    assert not result.get("failed"), result
    assert not result["changed"]
    assert result["restarted"] == []


# -- not enough capacity left ---------------------------------------------------------------------------


def test_drain_fails_with_the_pending_reason_when_capacity_lacks(cluster, run):
    """Three pods that each need most of a node's cpu: the other zone's two nodes cannot take them all."""
    big = dict(CONTAINER, resources={"requests": {"cpu": "1200m"}})
    cluster.apps.create_namespaced_deployment(NAMESPACE, deployment("heavy", 3, {"app": "heavy"}, {"containers": [big]}))
    wait_until(lambda: cluster.ready("heavy") == 3, "heavy did not become Ready")
    heavy = {"namespace": NAMESPACE, "name": "heavy"}
    result = run(fault_domain("drained", workloads=[WEB, heavy], wait_timeout=15))[0]
    assert result.get("failed")
    assert result["changed"]
    message = result["msg"]
    assert message.startswith("The workloads did not run outside the domain within wait_timeout=15 seconds: "
                              "shop/heavy has 2 Ready pods of min_ready 3 (1 not Ready: shop/heavy-"), message
    assert message.endswith(": 0/4 nodes are available: 2 Insufficient cpu, 2 node(s) were unschedulable. "
                            "preemption: 0/4 nodes are available.)."), message
    assert "shop/web" not in message
    assert [w["ready"] for w in result["workloads"]] == [4, 2]

    restored = run(fault_domain("restored", workloads=[WEB, heavy]))[0]
    assert not restored.get("failed"), restored
    assert not any(cluster.cordoned().values())
    assert cluster.per_zone() == {ZONE_A: 2, ZONE_B: 2}
