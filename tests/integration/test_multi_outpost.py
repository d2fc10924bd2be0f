"""multi-outpost end to end on the sandbox: one cluster across two Outposts, an ALB per Outpost, and the loss of an
Outpost as its failover.

The tests run in file order and share one sandbox: each step starts from the state the previous one left.
"""

from __future__ import annotations

import pytest
from kubernetes import client

from .conftest import (aws_client, kubernetes_api, ready_pods_per_zone, route53_snapshot, run_changing_nothing,
                       run_playbook, weights)

pytestmark = pytest.mark.integration

INVENTORY = "inventories/multi-outpost"
CLUSTER = "eks-ha-multi-outpost"
REGION = "us-west-2"
ZONE = "example.biz"
NAME = "factory.example.biz"
GROUP_LABEL = "eks-ha.resilience/node-group"


def nodes(sandbox) -> dict[str, dict]:
    """Every node of the cluster: its node group, zone and whether it takes new pods."""
    found = client.CoreV1Api(kubernetes_api(sandbox, CLUSTER)).list_node().items
    return {n.metadata.name: {"group": n.metadata.labels.get(GROUP_LABEL),
                              "zone": n.metadata.labels["topology.kubernetes.io/zone"],
                              "schedulable": not n.spec.unschedulable} for n in found}


def app_pods(sandbox) -> dict[str, int]:
    """How many of the app's pods are Ready in each zone."""
    return ready_pods_per_zone(sandbox, CLUSTER, "game-2048", "app.kubernetes.io/name=app-2048")


def test_deploy_check_mode_on_a_new_account_changes_nothing(sandbox):
    run_changing_nothing(sandbox, INVENTORY, "deploy.yml", "--check", "--diff")


@pytest.fixture(scope="module")
def deployed(sandbox):
    run = run_playbook(sandbox, INVENTORY, "deploy.yml")
    assert run.returncode == 0, run.output
    return route53_snapshot(sandbox, ZONE, NAME)


def test_deploy_makes_a_self_managed_group_per_outpost_and_spreads_the_app(sandbox, deployed):
    found = nodes(sandbox)
    assert sorted((n["group"], n["zone"]) for n in found.values()) == [
        ("outpost-1-workers", "us-west-2a"), ("outpost-1-workers", "us-west-2a"),
        ("outpost-2-workers", "us-west-2b"), ("outpost-2-workers", "us-west-2b")]
    autoscaling = aws_client(sandbox, "autoscaling", REGION)
    groups = {g["AutoScalingGroupName"]: g for g in autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]}
    assert {name for name in groups if "outpost" in name} == {f"{CLUSTER}-outpost-1-workers", f"{CLUSTER}-outpost-2-workers"}
    assert aws_client(sandbox, "eks", REGION).list_nodegroups(clusterName=CLUSTER)["nodegroups"] == []
    assert app_pods(sandbox) == {"us-west-2a": 2, "us-west-2b": 2}
    assert weights(deployed) == {"outpost-1": 50, "outpost-2": 50}


def test_deploy_gives_each_outpost_its_own_alb_and_nodes_a_cidr_security_group(sandbox, deployed):
    ec2 = aws_client(sandbox, "ec2", REGION)
    subnets = {s["SubnetId"]: s for s in ec2.describe_subnets()["Subnets"]}
    balancers = aws_client(sandbox, "elbv2", REGION).describe_load_balancers()["LoadBalancers"]
    placed = sorted(tuple(subnets[z["SubnetId"]]["CidrBlock"] for z in lb["AvailabilityZones"]) for lb in balancers)
    assert placed == [("10.60.3.0/24",), ("10.60.4.0/24",)]
    [group] = ec2.describe_security_groups(Filters=[{"Name": "group-name",
                                                     "Values": ["eks-ha-multi-outpost-shared-nodes"]}])["SecurityGroups"]
    rules = {(p["IpProtocol"], p.get("FromPort"), r["CidrIp"]) for p in group["IpPermissions"] for r in p["IpRanges"]}
    for cidr in ("10.60.3.0/24", "10.60.4.0/24"):
        assert {("-1", None, cidr), ("tcp", 53, cidr), ("udp", 53, cidr)} <= rules


def test_second_deploy_changes_nothing(sandbox, deployed):
    run = run_changing_nothing(sandbox, INVENTORY, "deploy.yml")
    assert run.changed == 0, run.output


def test_failover_check_mode_changes_nothing(sandbox, deployed):
    run_changing_nothing(sandbox, INVENTORY, "failover.yml", "--check", "--diff")
    assert all(node["schedulable"] for node in nodes(sandbox).values())


def test_failover_drains_the_lost_outpost_before_moving_its_weight(sandbox, deployed):
    run = run_playbook(sandbox, INVENTORY, "failover.yml")
    assert run.returncode == 0, run.output
    assert run.output.index("Capacity | the lost fault domain cordoned and drained") < run.output.index(
        "Traffic | move the traffic")
    found = nodes(sandbox)
    assert {n["schedulable"] for n in found.values() if n["group"] == "outpost-1-workers"} == {False}
    assert {n["schedulable"] for n in found.values() if n["group"] == "outpost-2-workers"} == {True}
    # Every replica runs on the other Outpost, more than the minimum the inventory asks for (2).
    assert app_pods(sandbox) == {"us-west-2b": 4}
    assert weights(route53_snapshot(sandbox, ZONE, NAME)) == {"outpost-1": 0, "outpost-2": 50}
    again = run_playbook(sandbox, INVENTORY, "failover.yml")
    assert again.returncode == 0 and again.changed == 0, again.output


def test_failback_uncordons_rebalances_and_restores_the_weights(sandbox, deployed):
    run = run_playbook(sandbox, INVENTORY, "failback.yml")
    assert run.returncode == 0, run.output
    assert all(node["schedulable"] for node in nodes(sandbox).values())
    assert app_pods(sandbox) == {"us-west-2a": 2, "us-west-2b": 2}
    assert route53_snapshot(sandbox, ZONE, NAME) == deployed
