"""Global Accelerator decisions: validation, dials, what to update, and which Region serves."""

import pytest

from ansible_collections.eks_ha.resilience.plugins.module_utils import globalaccelerator as ga

EAST_ALB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/east/0123456789abcdef"
WEST_ALB = "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/west/0123456789abcdef"


def group(region, dial, *endpoints, **fields):
    """An endpoint group as the API describes it; endpoints are (id, weight, health)."""
    described = {"EndpointGroupArn": f"arn:group/{region}", "EndpointGroupRegion": region, "TrafficDialPercentage": dial,
                 "EndpointDescriptions": [{"EndpointId": i, "Weight": w, "HealthState": h,
                                           "ClientIPPreservationEnabled": True} for i, w, h in endpoints]}
    described.update(fields)
    return described


def requested(region, endpoints=None, **options):
    return dict({"region": region, "endpoints": endpoints}, **options)


# -- serving rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "east, west, expected_region, expected_shares",
    [
        (("HEALTHY", 100), ("HEALTHY", 0), "us-east-1", {"us-east-1": 1.0, "us-west-2": 0.0}),
        (("HEALTHY", 0), ("HEALTHY", 100), "us-west-2", {"us-east-1": 0.0, "us-west-2": 1.0}),
        # Failover ignores dials: the only healthy group takes everything even at 0%.
        (("UNHEALTHY", 100), ("HEALTHY", 0), "us-west-2", {"us-west-2": 1.0}),
        # No healthy endpoint anywhere: fail open to every group, by dial.
        (("UNHEALTHY", 100), ("UNHEALTHY", 0), "us-east-1", {"us-east-1": 1.0, "us-west-2": 0.0}),
        (("INITIAL", 100), ("INITIAL", 0), "us-east-1", {"us-east-1": 1.0, "us-west-2": 0.0}),
        (("HEALTHY", 75), ("HEALTHY", 25), "us-east-1", {"us-east-1": 0.75, "us-west-2": 0.25}),
        (("HEALTHY", 0), ("HEALTHY", 0), "us-east-1", {"us-east-1": 0.5, "us-west-2": 0.5}),
    ],
)
def test_serving_follows_health_then_dials(east, west, expected_region, expected_shares):
    groups = [group("us-east-1", east[1], (EAST_ALB, 128, east[0])), group("us-west-2", west[1], (WEST_ALB, 128, west[0]))]
    assert ga.serving_shares(groups) == expected_shares
    assert ga.serving_region(groups) == expected_region


def test_weight_zero_endpoints_take_no_traffic():
    groups = [group("us-east-1", 100, (EAST_ALB, 0, "HEALTHY")), group("us-west-2", 0, (WEST_ALB, 128, "HEALTHY"))]
    assert ga.serving_region(groups) == "us-west-2"
    assert ga.serving_region([group("us-east-1", 100)]) is None


def test_fencing_warning_for_dial_zero_groups_with_weighted_endpoints():
    groups = [group("us-east-1", 100, (EAST_ALB, 128, "HEALTHY")), group("us-west-2", 0, (WEST_ALB, 128, "HEALTHY"))]
    warnings = ga.fencing_warnings(groups)
    assert len(warnings) == 1 and "us-west-2" in warnings[0] and "ignores traffic dials" in warnings[0]
    assert ga.fencing_warnings([group("us-west-2", 0, (WEST_ALB, 0, "HEALTHY"))]) == []


# -- dials ------------------------------------------------------------------------------------------


def test_desired_dials_precedence():
    current = [group("us-east-1", 100), group("us-west-2", 0)]
    assert ga.desired_dials(current, None) == {"us-east-1": 100.0, "us-west-2": 0.0}
    assert ga.desired_dials(current, None, active_region="us-west-2") == {"us-east-1": 0.0, "us-west-2": 100.0}
    assert ga.desired_dials(current, None, traffic_dials={"us-east-1": 90}) == {"us-east-1": 90.0, "us-west-2": 0.0}
    # A group nobody dials keeps its dial; a new group starts at 100, as CreateEndpointGroup does.
    wanted = [requested("us-west-2", traffic_dial=None), requested("eu-west-1")]
    assert ga.desired_dials(current, wanted) == {"us-east-1": 100.0, "us-west-2": 0.0, "eu-west-1": 100.0}
    assert ga.desired_dials([], [requested("us-east-1", traffic_dial=100), requested("us-west-2", traffic_dial=0)],
                            active_region="us-west-2") == {"us-east-1": 0.0, "us-west-2": 100.0}


def test_dial_order_raises_before_lowering():
    before = {"us-east-1": 100.0, "us-west-2": 0.0, "eu-west-1": 50.0}
    after = {"us-east-1": 0.0, "us-west-2": 100.0, "eu-west-1": 50.0}
    assert ga.dial_order(before, after) == ["us-west-2", "us-east-1"]
    assert ga.dial_order(after, after) == []


# -- what to update ---------------------------------------------------------------------------------


def test_plan_group_update_changes_only_what_differs():
    current = group("us-east-1", 100, (EAST_ALB, 128, "HEALTHY"), HealthCheckIntervalSeconds=30, ThresholdCount=3)
    same = requested("us-east-1", [{"endpoint_id": EAST_ALB, "weight": 128, "client_ip_preservation": True}],
                     health_check_interval=30, threshold_count=3)
    assert ga.plan_group_update(current, same, 100) == {}
    assert ga.plan_group_update(current, None, 0) == {"TrafficDialPercentage": 0.0}
    reweighted = requested("us-east-1", [{"endpoint_id": EAST_ALB, "weight": 200}], health_check_interval=10)
    assert ga.plan_group_update(current, reweighted, 100) == {
        "HealthCheckIntervalSeconds": 10,
        "EndpointConfigurations": [{"EndpointId": EAST_ALB, "Weight": 200}],
    }
    # Endpoints not listed are kept as they are.
    assert ga.plan_group_update(current, requested("us-east-1"), 100) == {}


def test_listener_update_and_choice():
    current = {"ListenerArn": "l1", "Protocol": "TCP", "PortRanges": [{"FromPort": 80, "ToPort": 80}],
               "ClientAffinity": "NONE"}
    assert ga.plan_listener_update(current, {"protocol": "TCP", "port_ranges": [{"from_port": 80, "to_port": None}],
                                             "client_affinity": "NONE"}) == {}
    assert ga.plan_listener_update(current, {"protocol": "TCP", "port_ranges": [{"from_port": 80, "to_port": 80}],
                                             "client_affinity": "SOURCE_IP"}) == {"ClientAffinity": "SOURCE_IP"}
    other = dict(current, ListenerArn="l2", PortRanges=[{"FromPort": 443, "ToPort": 443}])
    assert ga.choose_listener([current, other], [{"FromPort": 443, "ToPort": 443}]) is other
    assert ga.choose_listener([current], None) is current
    assert ga.choose_listener([], None) is None
    with pytest.raises(ValueError, match="2 listeners"):
        ga.choose_listener([current, other], None)


# -- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "groups, active, dials, listener, fragment",
    [
        ([requested("us-east-1", traffic_dial=101)], None, None, None, "from 0 to 100"),
        (None, None, {"us-east-1": -1}, None, "from 0 to 100"),
        ([requested("us-east-1", [{"endpoint_id": EAST_ALB, "weight": 256}])], None, None, None, "from 0 to 255"),
        ([requested("us-east-9")], None, None, None, "'us-east-9' is not a Region"),
        (None, "mars-1", None, None, "'mars-1' is not a Region"),
        ([requested("us-east-1"), requested("us-east-1")], None, None, None, "more than once"),
        ([requested("us-east-1")], "us-west-2", None, None, "active_region us-west-2 is not one of"),
        ([requested("us-east-1")], None, {"us-west-2": 0}, None, "traffic_dials name us-west-2"),
        ([requested("us-east-1", [{"endpoint_id": "lb-1", "weight": 1}])], None, None, None, "neither a load balancer"),
        ([requested("us-west-2", [{"endpoint_id": EAST_ALB, "weight": 1}])], None, None, None, "not in the endpoint group's Region"),
        ([requested("us-east-1", health_check_interval=20)], None, None, None, "10 or 30"),
        ([requested("us-east-1", threshold_count=11)], None, None, None, "from 1 to 10"),
        ([requested("us-east-1", health_check_protocol="TCP", health_check_path="/")], None, None, None, "HTTP or HTTPS"),
        (None, None, None, {"port_ranges": [{"from_port": 90, "to_port": 80}]}, "90-80"),
    ],
)
def test_validate_request_names_the_problem(groups, active, dials, listener, fragment):
    problem = ga.validate_request(groups, active, dials, listener)
    assert problem and fragment in problem


def test_validate_request_accepts_a_good_request():
    groups = [requested("us-east-1", [{"endpoint_id": EAST_ALB, "weight": 128}], traffic_dial=100,
                        health_check_interval=10, threshold_count=3),
              requested("us-west-2", [{"endpoint_id": WEST_ALB, "weight": 0}], traffic_dial=0)]
    assert ga.validate_request(groups, "us-west-2", None, {"port_ranges": [{"from_port": 80, "to_port": 80}]}) is None
    assert ga.validate_request(None, "us-west-2", None, None) is None


def test_local_zone_endpoints_are_refused():
    zones = {EAST_ALB: ["us-east-1a", "us-east-1-bos-1a"], WEST_ALB: ["us-west-2a"]}
    kinds = {"us-east-1a": "availability-zone", "us-east-1-bos-1a": "local-zone", "us-west-2a": "availability-zone"}
    problem = ga.local_zone_problem(zones, kinds)
    assert EAST_ALB in problem and "us-east-1-bos-1a" in problem and "Local Zones" in problem
    assert ga.local_zone_problem({WEST_ALB: ["us-west-2a"]}, kinds) is None


def test_endpoint_kinds_and_ports():
    assert [ga.endpoint_kind(i) for i in (EAST_ALB, "i-0abc", "eipalloc-1", "x")] == ["elb", "instance", "eip", None]
    assert ga.elb_region(WEST_ALB) == "us-west-2"
    assert ga.port_ranges_api([{"from_port": 443}, {"from_port": 80, "to_port": 81}]) == [
        {"FromPort": 80, "ToPort": 81}, {"FromPort": 443, "ToPort": 443}]


def test_describe_result_shape():
    state = {"accelerator": {"AcceleratorArn": "arn:acc", "Name": "multi-region", "Status": "DEPLOYED", "Enabled": True,
                             "DnsName": "a1.awsglobalaccelerator.com",
                             "IpSets": [{"IpFamily": "IPv4", "IpAddresses": ["75.2.0.1", "99.83.0.1"]}]},
             "listener": {"ListenerArn": "arn:l", "Protocol": "TCP", "PortRanges": [{"FromPort": 80, "ToPort": 80}],
                          "ClientAffinity": "NONE"},
             "endpoint_groups": [group("us-east-1", 100, (EAST_ALB, 128, "HEALTHY"))]}
    result = ga.describe_result(state)
    assert result["accelerator"]["ip_addresses"] == ["75.2.0.1", "99.83.0.1"]
    assert result["accelerator"]["hosted_zone_id"] == ga.HOSTED_ZONE_ID
    assert result["listener"]["port_ranges"] == [{"from_port": 80, "to_port": 80}]
    assert result["endpoint_groups"][0]["healthy"] is True
    assert result["serving_region"] == "us-east-1"
