"""dr-multi-region end to end on the sandbox: a stand-by cluster whose Karpenter waits at 0 replicas.

The tests run in file order and share one sandbox: each step starts from the state the previous one left.
"""

from __future__ import annotations

import pytest
from kubernetes import client

from .conftest import kubernetes_api, node_groups, route53_snapshot, run_changing_nothing, run_playbook, weights

pytestmark = pytest.mark.integration

INVENTORY = "inventories/dr-multi-region"
ZONE = "example.net"
NAME = "app.example.net"
CLUSTERS = {"active": "eks-ha-active", "standby": "eks-ha-standby"}


def karpenter(sandbox, site: str) -> dict:
    """Replicas of the site's Karpenter, its workload pods by phase, and the nodes Karpenter launched."""
    api = kubernetes_api(sandbox, CLUSTERS[site])
    deployment = client.AppsV1Api(api).read_namespaced_deployment("karpenter", "karpenter")
    pods = client.CoreV1Api(api).list_namespaced_pod("game-2048").items
    nodes = client.CoreV1Api(api).list_node(label_selector="karpenter.sh/nodepool").items
    return {"replicas": deployment.spec.replicas, "ready": deployment.status.ready_replicas or 0,
            "pods": sorted(pod.status.phase for pod in pods), "nodes": len(nodes),
            "pods_on_karpenter_nodes": all(pod.spec.node_name in {n.metadata.name for n in nodes}
                                           for pod in pods if pod.status.phase == "Running")}


def test_deploy_check_mode_on_a_new_account_changes_nothing(sandbox):
    run_changing_nothing(sandbox, INVENTORY, "deploy.yml", "--check", "--diff")


@pytest.fixture(scope="module")
def deployed(sandbox):
    run = run_playbook(sandbox, INVENTORY, "deploy.yml")
    assert run.returncode == 0, run.output
    return route53_snapshot(sandbox, ZONE, NAME)


def test_deploy_leaves_the_standby_idle_and_the_active_serving(sandbox, deployed):
    assert weights(deployed) == {"active": 100, "standby": 0}
    active, standby = karpenter(sandbox, "active"), karpenter(sandbox, "standby")
    assert active["replicas"] == 2 and active["nodes"] > 0 and set(active["pods"]) == {"Running"}
    assert active["pods_on_karpenter_nodes"]
    # As in the seed: Karpenter installed at 0 replicas, the workload's pods Pending, no workload nodes.
    assert standby["replicas"] == 0 and standby["nodes"] == 0 and set(standby["pods"]) == {"Pending"}


def test_deploy_makes_the_control_node_groups_managed_in_the_regions_azs(sandbox, deployed):
    for site, region in (("active", "us-east-1"), ("standby", "us-west-2")):
        assert node_groups(sandbox, CLUSTERS[site], region) == {
            "control": {"kind": "managed", "nodes": [f"{region}a", f"{region}b"]}}, site


def test_second_deploy_changes_nothing(sandbox, deployed):
    run = run_changing_nothing(sandbox, INVENTORY, "deploy.yml")
    assert run.changed == 0, run.output


def test_failover_check_mode_changes_nothing(sandbox, deployed):
    run_changing_nothing(sandbox, INVENTORY, "failover.yml", "--check", "--diff")
    assert karpenter(sandbox, "standby")["replicas"] == 0


def test_failover_brings_capacity_up_before_moving_the_weights(sandbox, deployed):
    run = run_playbook(sandbox, INVENTORY, "failover.yml")
    assert run.returncode == 0, run.output
    assert run.output.index("Capacity | Karpenter up on the target site") < run.output.index("Traffic | move the traffic")
    standby = karpenter(sandbox, "standby")
    assert standby["replicas"] == 2 and standby["ready"] == 2 and standby["nodes"] > 0
    assert set(standby["pods"]) == {"Running"} and standby["pods_on_karpenter_nodes"]
    assert weights(route53_snapshot(sandbox, ZONE, NAME)) == {"active": 0, "standby": 100}


def test_failback_moves_traffic_home_then_idles_the_standby(sandbox, deployed):
    run = run_playbook(sandbox, INVENTORY, "failback.yml")
    assert run.returncode == 0, run.output
    assert route53_snapshot(sandbox, ZONE, NAME) == deployed
    assert karpenter(sandbox, "standby")["replicas"] == 0
    assert karpenter(sandbox, "active")["replicas"] == 2
