"""ha-single-cluster end to end on the sandbox: one cluster across three AZs, and the AZ-loss drill as its failover.

The tests run in file order and share one sandbox: each step starts from the state the previous one left.
"""

from __future__ import annotations

import pytest
from kubernetes import client

from .conftest import (aws_client, kubernetes_api, ready_pods_per_zone, route53_snapshot, run_changing_nothing,
                       run_playbook)

pytestmark = pytest.mark.integration

INVENTORY = "inventories/ha-single-cluster"
CLUSTER = "eks-ha-single"
ZONE = "example.dev"
NAME = "shop.example.dev"
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]


def nodes(sandbox) -> list[dict]:
    return [{"name": n.metadata.name, "zone": n.metadata.labels["topology.kubernetes.io/zone"],
             "pool": n.metadata.labels.get("karpenter.sh/nodepool"),
             "group": n.metadata.labels.get("eks.amazonaws.com/nodegroup"), "schedulable": not n.spec.unschedulable}
            for n in client.CoreV1Api(kubernetes_api(sandbox, CLUSTER)).list_node().items]


def app_pods(sandbox) -> dict[str, int]:
    """How many of the app's pods are Ready in each zone (all of them on Karpenter's nodes)."""
    return ready_pods_per_zone(sandbox, CLUSTER, "game-2048", "app.kubernetes.io/name=app-2048",
                               node_labels={"karpenter.sh/nodepool": "default"})


def test_deploy_check_mode_on_a_new_account_changes_nothing(sandbox):
    run_changing_nothing(sandbox, INVENTORY, "deploy.yml", "--check", "--diff")


@pytest.fixture(scope="module")
def deployed(sandbox):
    run = run_playbook(sandbox, INVENTORY, "deploy.yml")
    assert run.returncode == 0, run.output
    return route53_snapshot(sandbox, ZONE, NAME)


def test_deploy_spreads_the_control_group_and_the_workload_over_three_zones(sandbox, deployed):
    control = [n for n in nodes(sandbox) if n["group"] == "control"]
    assert sorted(n["zone"] for n in control) == ZONES
    assert aws_client(sandbox, "eks").describe_nodegroup(
        clusterName=CLUSTER, nodegroupName="control")["nodegroup"]["labels"] == {"role": "control"}
    assert app_pods(sandbox) == {zone: 2 for zone in ZONES}
    assert [(r["SetIdentifier"], r["Weight"]) for r in deployed["records"]] == [("cluster", 100)]


def test_second_deploy_changes_nothing(sandbox, deployed):
    run = run_changing_nothing(sandbox, INVENTORY, "deploy.yml")
    assert run.changed == 0, run.output


def test_drill_check_mode_changes_nothing(sandbox, deployed):
    run_changing_nothing(sandbox, INVENTORY, "failover.yml", "--check", "--diff")
    assert all(node["schedulable"] for node in nodes(sandbox))


def test_az_loss_drill_keeps_the_replicas_spread_over_the_other_zones(sandbox, deployed):
    run = run_playbook(sandbox, INVENTORY, "failover.yml")
    assert run.returncode == 0, run.output
    assert {n["schedulable"] for n in nodes(sandbox) if n["zone"] == "us-east-1a"} == {False}
    assert all(n["schedulable"] for n in nodes(sandbox) if n["zone"] != "us-east-1a")
    assert app_pods(sandbox) == {"us-east-1b": 3, "us-east-1c": 3}
    assert route53_snapshot(sandbox, ZONE, NAME) == deployed
    again = run_playbook(sandbox, INVENTORY, "failover.yml")
    assert again.returncode == 0 and again.changed == 0, again.output


def test_a_zone_without_nodes_is_refused_and_changes_nothing(sandbox, deployed):
    # A zone that is not in the cluster is refused, and nothing changes.
    run = run_playbook(sandbox, INVENTORY, "failover.yml", "-e", "failover_zone=us-east-1f")
    assert run.returncode != 0
    assert "topology.kubernetes.io/zone=us-east-1f" in run.output
    assert app_pods(sandbox) == {"us-east-1b": 3, "us-east-1c": 3}


def test_failback_restores_the_zone_and_the_spread(sandbox, deployed):
    run = run_playbook(sandbox, INVENTORY, "failback.yml")
    assert run.returncode == 0, run.output
    assert all(node["schedulable"] for node in nodes(sandbox))
    assert app_pods(sandbox) == {zone: 2 for zone in ZONES}
    assert route53_snapshot(sandbox, ZONE, NAME) == deployed
