"""ha-multi-cluster end to end on the sandbox: two single-AZ clusters weighed 50/50 by Route 53.

The tests run in file order and share one sandbox: each step starts from the state the previous one left.
"""

from __future__ import annotations

import pytest
from kubernetes import client

from .conftest import kubernetes_api, route53_snapshot, run_changing_nothing, run_playbook, weights

pytestmark = pytest.mark.integration

INVENTORY = "inventories/ha-multi-cluster"
ZONE = "example.app"
NAME = "web.example.app"
CLUSTERS = {"az-a": ("eks-ha-az-a", "us-east-1a"), "az-b": ("eks-ha-az-b", "us-east-1b")}


def workload(sandbox, site: str) -> dict:
    """The site's app: replicas, Ready pods, and the zones of the nodes its pods and Karpenter's nodes run in."""
    cluster, _zone = CLUSTERS[site]
    api = kubernetes_api(sandbox, cluster)
    deployment = client.AppsV1Api(api).read_namespaced_deployment("deployment-2048", "game-2048")
    zones = {n.metadata.name: n.metadata.labels["topology.kubernetes.io/zone"]
             for n in client.CoreV1Api(api).list_node().items}
    pods = client.CoreV1Api(api).list_namespaced_pod("game-2048").items
    return {"replicas": deployment.spec.replicas, "ready": deployment.status.ready_replicas or 0,
            "zones": sorted({zones[p.spec.node_name] for p in pods if p.spec.node_name} | set(zones.values()))}


def test_deploy_check_mode_on_a_new_account_changes_nothing(sandbox):
    run_changing_nothing(sandbox, INVENTORY, "deploy.yml", "--check", "--diff")


@pytest.fixture(scope="module")
def deployed(sandbox):
    run = run_playbook(sandbox, INVENTORY, "deploy.yml")
    assert run.returncode == 0, run.output
    return route53_snapshot(sandbox, ZONE, NAME)


def test_deploy_weighs_the_clusters_evenly_each_in_its_own_zone(sandbox, deployed):
    assert weights(deployed) == {"az-a": 50, "az-b": 50}
    assert len(deployed["health_checks"]) == 2
    for site, (_cluster, zone) in CLUSTERS.items():
        # Replicas come from the inventory (site_capacity), not from Git; everything runs in the cluster's zone.
        assert workload(sandbox, site) == {"replicas": 2, "ready": 2, "zones": [zone]}


def test_second_deploy_changes_nothing(sandbox, deployed):
    run = run_changing_nothing(sandbox, INVENTORY, "deploy.yml")
    assert run.changed == 0, run.output


def test_failover_check_mode_changes_nothing(sandbox, deployed):
    run_changing_nothing(sandbox, INVENTORY, "failover.yml", "--check", "--diff")
    assert workload(sandbox, "az-b")["replicas"] == 2


def test_failover_scales_the_target_before_taking_the_other_weight_to_zero(sandbox, deployed):
    run = run_playbook(sandbox, INVENTORY, "failover.yml")
    assert run.returncode == 0, run.output
    assert run.output.index("Capacity | the target's workload scaled to carry all of the traffic") < run.output.index(
        "Traffic | move the traffic")
    assert workload(sandbox, "az-b") == {"replicas": 4, "ready": 4, "zones": ["us-east-1b"]}
    assert weights(route53_snapshot(sandbox, ZONE, NAME)) == {"az-a": 0, "az-b": 50}
    again = run_playbook(sandbox, INVENTORY, "failover.yml")
    assert again.returncode == 0 and again.changed == 0, again.output


def test_failback_restores_the_weights_then_the_replicas(sandbox, deployed):
    run = run_playbook(sandbox, INVENTORY, "failback.yml")
    assert run.returncode == 0, run.output
    assert run.output.index("Traffic | restore the configured state") < run.output.index(
        "Capacity | each site's workload back to its configured replicas")
    assert route53_snapshot(sandbox, ZONE, NAME) == deployed
    for site in CLUSTERS:
        assert workload(sandbox, site)["replicas"] == 2
