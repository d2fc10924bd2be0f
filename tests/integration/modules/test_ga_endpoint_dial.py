"""ga_endpoint_dial and ga_endpoint_dial_info run by Ansible against the sandbox's Global Accelerator.

Endpoints are ALBs the tests create in Region subnets of us-east-1 and us-west-2; the sandbox's seeded Local
Zone ALB (site ``localzone`` of the tests' inventory) is there to be refused. The tests run in file order and
share one sandbox: each step starts from the state the previous one left.
"""

from __future__ import annotations

import pytest

from .plays import REPO, task

pytestmark = pytest.mark.integration

INVENTORY = REPO / "tests" / "sandbox" / "inventory"
NAME = "eks-ha-module-test"
LOCAL_ZONE_ALB = ("eks-ha-localzone-alb", "us-east-1")


# -- fixtures -----------------------------------------------------------------------------------


def make_alb(sandbox, region: str, cidr: str) -> str:
    ec2, elbv2 = sandbox.client("ec2", region), sandbox.client("elbv2", region)
    vpc = ec2.create_vpc(CidrBlock=f"{cidr}.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"{cidr}.{index}.0/24", AvailabilityZone=f"{region}{zone}")
               ["Subnet"]["SubnetId"] for index, zone in enumerate("ab", start=1)]
    balancer = elbv2.create_load_balancer(Name=f"ga-test-{region}", Subnets=subnets, Type="application")
    return balancer["LoadBalancers"][0]["LoadBalancerArn"]


@pytest.fixture(scope="module")
def albs(sandbox):
    return {"us-east-1": make_alb(sandbox, "us-east-1", "10.71"), "us-west-2": make_alb(sandbox, "us-west-2", "10.72")}


@pytest.fixture(scope="module")
def local_zone_alb(sandbox):
    name, region = LOCAL_ZONE_ALB
    return sandbox.client("elbv2", region).describe_load_balancers(Names=[name])["LoadBalancers"][0]["LoadBalancerArn"]


@pytest.fixture(scope="module")
def memo():
    return {}


def group(albs, region, dial, weight=128, **extra):
    return dict({"region": region, "traffic_dial": dial,
                 "endpoints": [{"endpoint_id": albs[region], "weight": weight, "client_ip_preservation": True}],
                 "health_check_interval": 10, "threshold_count": 3}, **extra)


def present(albs, east_dial=100, west_dial=0, **extra):
    return task("ga_endpoint_dial", dict({
        "name": NAME,
        "listener": {"protocol": "TCP", "port_ranges": [{"from_port": 80, "to_port": 80}]},
        "endpoint_groups": [group(albs, "us-east-1", east_dial), group(albs, "us-west-2", west_dial)],
        "tags": {"purpose": "test"},
    }, **extra.pop("args", {})), **extra)


def dial(check=False, diff=False, **args):
    return task("ga_endpoint_dial", dict({"name": NAME}, **args), check=check, diff=diff)


def info():
    return task("ga_endpoint_dial_info", {"name": NAME})


def dials(result):
    return {g["region"]: g["traffic_dial"] for g in result["endpoint_groups"]}


# -- bad input ------------------------------------------------------------------------------------


def bad_inputs(albs, local_zone_alb):
    east = group(albs, "us-east-1", 100)
    return [
        ("dial above 100", {"endpoint_groups": [dict(east, traffic_dial=101)]}, "traffic dials are percentages from 0 to 100"),
        ("weight above 255", {"endpoint_groups": [group(albs, "us-east-1", 100, weight=256)]}, "weights go from 0 to 255"),
        ("unknown Region", {"endpoint_groups": [dict(east, region="us-east-7", endpoints=[])]},
         "'us-east-7' is not a Region Global Accelerator serves"),
        ("duplicate Regions", {"endpoint_groups": [east, east]}, "more than once"),
        ("interval 20", {"endpoint_groups": [dict(east, health_check_interval=20)]}, "every 10 or 30 seconds"),
        ("Local Zone endpoint", {"endpoint_groups": [dict(east, endpoints=[{"endpoint_id": local_zone_alb}])]},
         "does not support endpoints in Local Zones"),
        ("dials twice", {"active_region": "us-east-1", "traffic_dials": {"us-east-1": 100}}, "mutually exclusive"),
        ("dial text", {"traffic_dials": {"us-east-1": "lots"}}, "traffic_dials must map Regions to numbers"),
    ]


def test_bad_input_fails_with_one_sentence_and_changes_nothing(run, albs, local_zone_alb):
    cases = bad_inputs(albs, local_zone_alb)
    play = run.parallel("ga_endpoint_dial", [dict({"name": NAME}, **args) for _, args, _ in cases])
    for (label, _, sentence), result in zip(cases, play.results):
        assert result.get("failed"), label
        assert sentence in result["msg"], (label, result["msg"])
    assert play.writes == []


def test_check_mode_create_changes_nothing(run, albs):
    play = run(present(albs, check=True, diff=True), info())
    planned, found = play[0], play[1]
    assert planned["changed"] and not planned.get("failed"), planned
    assert planned["actions"][0] == f"Create accelerator {NAME}."
    assert planned["dials_after"] == {"us-east-1": 100.0, "us-west-2": 0.0}
    assert planned["diff"]["before"]["accelerator"] is None
    assert found["exists"] is False
    assert play.writes == []


def test_create(run, albs, memo):
    play = run(present(albs), info())
    created, found = play[0], play[1]
    assert created["changed"] and not created.get("failed"), created
    assert [w[1] for w in play.writes] == ["CreateAccelerator", "CreateListener", "CreateEndpointGroup", "CreateEndpointGroup"]
    accelerator = created["accelerator"]
    assert accelerator["status"] == "DEPLOYED"  # waited for it
    assert accelerator["dns_name"].endswith(".awsglobalaccelerator.com") and len(accelerator["ip_addresses"]) == 2
    assert dials(created) == {"us-east-1": 100.0, "us-west-2": 0.0}
    assert created["serving_region"] == found["serving_region"] == "us-east-1"
    # The secondary at 0% is no fence: the module says so.
    assert any("ignores traffic dials" in w for w in created.get("warnings", []))
    memo["created"] = found


def test_same_again_is_unchanged_and_writes_nothing(run, albs, memo):
    play = run(present(albs), info())
    assert not play[0]["changed"], play[0]["actions"]
    assert play.writes == []
    assert {k: v for k, v in play[1].items() if k != "accelerator"} == \
           {k: v for k, v in memo["created"].items() if k != "accelerator"}


def test_dial_mode_check_shows_the_plan(run):
    play = run(dial(check=True, diff=True, active_region="us-west-2"))
    planned = play[0]
    assert planned["changed"] and planned["dials_after"] == {"us-east-1": 0.0, "us-west-2": 100.0}
    assert planned["diff"]["after"]["endpoint_groups"]["us-west-2"]["traffic_dial"] == 100.0
    assert play.writes == []


def test_dial_mode_raises_the_target_first(run):
    play = run(dial(active_region="us-west-2"), dial(active_region="us-west-2"))
    moved, again = play[0], play[1]
    assert moved["changed"] and moved["dials_before"] == {"us-east-1": 100.0, "us-west-2": 0.0}
    assert moved["dials_after"] == {"us-east-1": 0.0, "us-west-2": 100.0}
    assert moved["serving_region"] == "us-west-2"
    assert [a for a in moved["actions"] if "dial" in a][:2] == [
        "Update the endpoint group in us-west-2: dial 0% -> 100%.",
        "Update the endpoint group in us-east-1: dial 100% -> 0%."]
    assert any("new connections" in a for a in moved["actions"])
    assert [w[1] for w in play.writes] == ["UpdateEndpointGroup", "UpdateEndpointGroup"]  # two calls, nothing else
    assert not again["changed"]


def test_explicit_dials_restore_the_created_state(run, memo):
    play = run(dial(traffic_dials={"us-east-1": 100, "us-west-2": 0}), info())
    assert play[0]["changed"]
    assert {k: v for k, v in play[1].items() if k != "accelerator"} == \
           {k: v for k, v in memo["created"].items() if k != "accelerator"}


def test_dial_to_a_region_without_group_is_refused(run):
    # Refused before anything else the call asks for (here a tag change) is written.
    play = run(dial(active_region="eu-west-1"), dial(traffic_dials={"eu-west-1": 0}, tags={"purpose": "changed"}))
    for refused in play.results:
        assert refused["failed"] and "No endpoint group of accelerator" in refused["msg"] and "eu-west-1" in refused["msg"]
    assert play.writes == []


def test_weight_and_listener_changes_touch_only_what_differs(run, albs):
    listener = {"protocol": "TCP", "port_ranges": [{"from_port": 80, "to_port": 80}], "client_affinity": "SOURCE_IP"}
    groups = [group(albs, "us-east-1", 100, weight=200), group(albs, "us-west-2", 0)]
    play = run(task("ga_endpoint_dial", {"name": NAME, "listener": listener, "endpoint_groups": groups}))
    changed = play[0]
    assert changed["changed"], changed
    assert [w[1] for w in play.writes] == ["UpdateListener", "UpdateEndpointGroup"]
    assert changed["listener"]["client_affinity"] == "SOURCE_IP"
    assert changed["endpoint_groups"][0]["endpoints"][0]["weight"] == 200


def test_purge_deletes_unlisted_groups(run, albs):
    args = {"name": NAME, "endpoint_groups": [group(albs, "us-east-1", 100, weight=200)]}
    play = run(task("ga_endpoint_dial", args, check=True), task("ga_endpoint_dial", args))
    assert play[0]["changed"] and play.writes == [("POST", "DeleteEndpointGroup")]
    assert [g["region"] for g in play[1]["endpoint_groups"]] == ["us-east-1"]


def test_absent(run):
    play = run(task("ga_endpoint_dial", {"name": NAME, "state": "absent"}, check=True, diff=True))
    assert play[0]["changed"] and play.writes == []
    play = run(task("ga_endpoint_dial", {"name": NAME, "state": "absent"}, diff=True), info(),
               task("ga_endpoint_dial", {"name": NAME, "state": "absent"}))
    gone, found, again = play[0], play[1], play[2]
    assert gone["changed"] and not gone.get("failed"), gone
    assert gone["diff"]["before"]["accelerator"]["tags"] == {"purpose": "test"}
    assert gone["diff"]["after"]["accelerator"] is None
    assert found["exists"] is False
    assert not again["changed"]
