"""Global Accelerator in the sandbox, through the unmodified boto3 client: API, validation, health, routing."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox import Sandbox
from sandbox.seed import DUMMY_CREDENTIALS

from .helpers import seconds_until

# Region endpoints made here: internet-facing ALBs in Availability Zones, tied to no site.
REGION_ALB_REGIONS = ("us-east-2", "eu-west-1")
# Health checks every 10 s, one miss to turn: a detection delay of 0.5 s at the sandbox's time scale.
FAST_CHECKS = {"HealthCheckIntervalSeconds": 10, "ThresholdCount": 1}


def error_of(call: Callable[[], Any]) -> dict[str, str]:
    """The ``Code`` and ``Message`` of the ClientError ``call`` raises."""
    with pytest.raises(ClientError) as raised:
        call()
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return raised.value.response["Error"]


def site_alb(sandbox: Sandbox, name: str) -> str:
    """The ARN of a site's pre-existing ALB."""
    return next(s for s in sandbox.status()["sites"] if s["name"] == name)["load_balancer"]["arn"]


def create_alb(sandbox: Sandbox, region: str, name: str) -> str:
    """An internet-facing ALB in two Availability Zones of ``region``, in a VPC of its own."""
    ec2 = sandbox.client("ec2", region)
    vpc_id = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.77.{i}.0/24", AvailabilityZone=f"{region}{zone}")
               ["Subnet"]["SubnetId"] for i, zone in enumerate("ab")]
    return sandbox.client("elbv2", region).create_load_balancer(
        Name=name, Subnets=subnets, Scheme="internet-facing", Type="application")["LoadBalancers"][0]["LoadBalancerArn"]


def delete_alb(sandbox: Sandbox, arn: str) -> None:
    sandbox.client("elbv2", arn.split(":")[3]).delete_load_balancer(LoadBalancerArn=arn)


@pytest.fixture(scope="module")
def ga(sandbox: Sandbox) -> Any:
    return sandbox.client("globalaccelerator", "us-west-2")


@pytest.fixture(scope="module")
def region_albs(sandbox: Sandbox) -> Iterator[dict[str, str]]:
    """One Region ALB per Region of REGION_ALB_REGIONS, removed after the module."""
    albs = {region: create_alb(sandbox, region, f"ga-{region}-alb") for region in REGION_ALB_REGIONS}
    yield albs
    for arn in albs.values():
        delete_alb(sandbox, arn)


def accelerator_with_listener(ga: Any, name: str) -> tuple[str, str]:
    """A new accelerator (ARN) with a TCP:80 listener (ARN)."""
    accelerator_arn = ga.create_accelerator(Name=name)["Accelerator"]["AcceleratorArn"]
    listener = ga.create_listener(AcceleratorArn=accelerator_arn, Protocol="TCP",
                                  PortRanges=[{"FromPort": 80, "ToPort": 80}])["Listener"]
    return accelerator_arn, listener["ListenerArn"]


def group_with(ga: Any, listener_arn: str, region: str, endpoint_id: str, dial: float) -> str:
    return ga.create_endpoint_group(
        ListenerArn=listener_arn, EndpointGroupRegion=region, TrafficDialPercentage=dial,
        EndpointConfigurations=[{"EndpointId": endpoint_id}], **FAST_CHECKS)["EndpointGroup"]["EndpointGroupArn"]


def listener_status(sandbox: Sandbox, listener_arn: str) -> dict[str, Any]:
    """What ``status()`` reports about one listener (health of its endpoints, where it routes)."""
    for accelerator in sandbox.status()["global_accelerators"]:
        for listener in accelerator["listeners"]:
            if listener["arn"] == listener_arn:
                return listener
    raise AssertionError(f"no listener {listener_arn} in the status")


def health(listener: dict[str, Any]) -> dict[str, str]:
    """Endpoint health per Region of a listener's status."""
    return {group["region"]: group["endpoints"][0]["health"] for group in listener["endpoint_groups"]}


def status_of(ga: Any, accelerator_arn: str) -> str:
    return ga.describe_accelerator(AcceleratorArn=accelerator_arn)["Accelerator"]["Status"]


# -- API lifecycle ------------------------------------------------------------------------------


def test_accelerator_lifecycle(sandbox: Sandbox, ga: Any, region_albs: dict[str, str]) -> None:
    created = ga.create_accelerator(Name="lifecycle", Tags=[{"Key": "team", "Value": "sre"}])["Accelerator"]
    arn = created["AcceleratorArn"]
    assert re.fullmatch(r"arn:aws:globalaccelerator::123456789012:accelerator/[0-9a-f-]{36}", arn)
    assert re.fullmatch(r"a[0-9a-f]{16}\.awsglobalaccelerator\.com", created["DnsName"])
    (ip_set,) = created["IpSets"]
    assert (ip_set["IpFamily"], ip_set["IpAddressFamily"]) == ("IPv4", "IPv4")
    assert ip_set["IpAddresses"][0].startswith("75.2.") and ip_set["IpAddresses"][1].startswith("99.83.")
    assert (created["Enabled"], created["IpAddressType"], created["Status"]) == (True, "IPV4", "IN_PROGRESS")
    assert created["CreatedTime"] == created["LastModifiedTime"]
    assert arn in {a["AcceleratorArn"] for a in ga.list_accelerators(MaxResults=100)["Accelerators"]}

    listener = ga.create_listener(AcceleratorArn=arn, Protocol="TCP", PortRanges=[{"FromPort": 80, "ToPort": 80}])
    listener_arn = listener["Listener"]["ListenerArn"]
    assert re.fullmatch(re.escape(arn) + r"/listener/[0-9a-f]{8}", listener_arn)
    updated = ga.update_listener(ListenerArn=listener_arn, PortRanges=[{"FromPort": 80, "ToPort": 81}],
                                 ClientAffinity="SOURCE_IP")["Listener"]
    assert (updated["PortRanges"], updated["ClientAffinity"]) == ([{"FromPort": 80, "ToPort": 81}], "SOURCE_IP")
    assert ga.describe_listener(ListenerArn=listener_arn)["Listener"] == updated
    assert [item["ListenerArn"] for item in ga.list_listeners(AcceleratorArn=arn)["Listeners"]] == [listener_arn]
    clash = error_of(lambda: ga.create_listener(AcceleratorArn=arn, Protocol="UDP",
                                                PortRanges=[{"FromPort": 81, "ToPort": 90}]))
    assert clash["Code"] == "InvalidPortRangeException"

    group = ga.create_endpoint_group(
        ListenerArn=listener_arn, EndpointGroupRegion="us-east-2", TrafficDialPercentage=50,
        EndpointConfigurations=[{"EndpointId": region_albs["us-east-2"]}],
        HealthCheckProtocol="HTTP", HealthCheckPath="/healthz")["EndpointGroup"]
    group_arn = group["EndpointGroupArn"]
    assert re.fullmatch(re.escape(listener_arn) + r"/endpoint-group/[0-9a-f]{12}", group_arn)
    assert (group["TrafficDialPercentage"], group["HealthCheckPort"]) == (50.0, 80)  # the listener's first port
    assert (group["HealthCheckProtocol"], group["HealthCheckPath"]) == ("HTTP", "/healthz")
    assert (group["HealthCheckIntervalSeconds"], group["ThresholdCount"]) == (30, 3)
    (alb,) = group["EndpointDescriptions"]
    assert (alb["Weight"], alb["HealthState"], alb["ClientIPPreservationEnabled"]) == (128, "INITIAL", True)
    duplicate = error_of(lambda: ga.create_endpoint_group(ListenerArn=listener_arn, EndpointGroupRegion="us-east-2"))
    assert duplicate["Code"] == "EndpointGroupAlreadyExistsException"

    ec2 = sandbox.client("ec2", "us-east-2")
    instance_id = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    allocation_id = ec2.allocate_address(Domain="vpc")["AllocationId"]
    added = ga.add_endpoints(EndpointGroupArn=group_arn, EndpointConfigurations=[
        {"EndpointId": instance_id, "Weight": 0}, {"EndpointId": allocation_id}])
    described = [(e["EndpointId"], e["Weight"], e["ClientIPPreservationEnabled"])
                 for e in added["EndpointDescriptions"]]
    assert described == [(instance_id, 0, True), (allocation_id, 128, False)]
    ga.remove_endpoints(EndpointGroupArn=group_arn, EndpointIdentifiers=[{"EndpointId": allocation_id}])
    missing = error_of(lambda: ga.remove_endpoints(EndpointGroupArn=group_arn,
                                                   EndpointIdentifiers=[{"EndpointId": allocation_id}]))
    assert missing["Code"] == "EndpointNotFoundException"
    group = ga.update_endpoint_group(EndpointGroupArn=group_arn, TrafficDialPercentage=0,
                                     HealthCheckProtocol="TCP")["EndpointGroup"]
    assert group["TrafficDialPercentage"] == 0.0 and "HealthCheckPath" not in group
    assert [e["EndpointId"] for e in group["EndpointDescriptions"]] == [region_albs["us-east-2"], instance_id]
    assert ga.describe_endpoint_group(EndpointGroupArn=group_arn)["EndpointGroup"] == group
    assert [g["EndpointGroupArn"] for g in ga.list_endpoint_groups(ListenerArn=listener_arn)["EndpointGroups"]] == [
        group_arn]

    ga.update_accelerator_attributes(AcceleratorArn=arn, FlowLogsEnabled=True, FlowLogsS3Bucket="logs",
                                     FlowLogsS3Prefix="ga/")
    assert ga.describe_accelerator_attributes(AcceleratorArn=arn)["AcceleratorAttributes"] == {
        "FlowLogsEnabled": True, "FlowLogsS3Bucket": "logs", "FlowLogsS3Prefix": "ga/"}

    # Deletion runs in dependency order, and only once the accelerator is disabled and deployed.
    in_use = error_of(lambda: ga.delete_listener(ListenerArn=listener_arn))
    assert in_use["Code"] == "AssociatedEndpointGroupFoundException"
    assert error_of(lambda: ga.delete_accelerator(AcceleratorArn=arn))["Code"] == "AcceleratorNotDisabledException"
    disabled = ga.update_accelerator(AcceleratorArn=arn, Enabled=False, Name="lifecycle-off")["Accelerator"]
    assert (disabled["Enabled"], disabled["Name"], disabled["Status"]) == (False, "lifecycle-off", "IN_PROGRESS")
    assert disabled["LastModifiedTime"] > disabled["CreatedTime"]
    assert error_of(lambda: ga.delete_accelerator(AcceleratorArn=arn))["Code"] == "AcceleratorNotDisabledException"
    seconds_until(lambda: status_of(ga, arn) == "DEPLOYED")
    assert error_of(lambda: ga.delete_accelerator(AcceleratorArn=arn))["Code"] == "AssociatedListenerFoundException"
    ga.delete_endpoint_group(EndpointGroupArn=group_arn)
    ga.delete_listener(ListenerArn=listener_arn)
    assert status_of(ga, arn) == "IN_PROGRESS"  # removing the listener is a change to deploy
    assert error_of(lambda: ga.describe_listener(ListenerArn=listener_arn))["Code"] == "ListenerNotFoundException"
    assert error_of(lambda: ga.describe_endpoint_group(EndpointGroupArn=group_arn))["Code"] == \
        "EndpointGroupNotFoundException"
    took = seconds_until(lambda: status_of(ga, arn) == "DEPLOYED")
    assert took >= 1.0  # 30 s * time scale 0.05, minus polling slack
    ga.delete_accelerator(AcceleratorArn=arn)
    assert error_of(lambda: ga.describe_accelerator(AcceleratorArn=arn))["Code"] == "AcceleratorNotFoundException"


def test_list_calls_paginate(ga: Any) -> None:
    names = {f"page-{i}" for i in range(3)}
    for name in sorted(names):
        ga.create_accelerator(Name=name)
    first = ga.list_accelerators(MaxResults=2)
    assert len(first["Accelerators"]) == 2 and first["NextToken"]
    pages = ga.get_paginator("list_accelerators").paginate(PaginationConfig={"PageSize": 2})
    listed = [a["AcceleratorArn"] for answer in pages for a in answer["Accelerators"]]
    everything = ga.list_accelerators(MaxResults=100)["Accelerators"]
    assert listed == [a["AcceleratorArn"] for a in everything]
    assert names <= {a["Name"] for a in everything}
    assert error_of(lambda: ga.list_accelerators(NextToken="not-a-token"))["Code"] == "InvalidNextTokenException"


def test_tags(ga: Any) -> None:
    arn = ga.create_accelerator(Name="tagged", Tags=[{"Key": "env", "Value": "dr"}])["Accelerator"]["AcceleratorArn"]
    ga.tag_resource(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "sre"}, {"Key": "env", "Value": "prod"}])
    ga.untag_resource(ResourceArn=arn, TagKeys=["owner"])
    assert ga.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]
    unknown = arn.rsplit("/", 1)[0] + f"/{uuid.uuid4()}"
    assert error_of(lambda: ga.list_tags_for_resource(ResourceArn=unknown))["Code"] == "AcceleratorNotFoundException"


# -- what the front end and the service refuse --------------------------------------------------


def test_validation_errors_read_like_aws(sandbox: Sandbox, ga: Any, region_albs: dict[str, str]) -> None:
    accelerator_arn, listener_arn = accelerator_with_listener(ga, "validation")
    endpoint = [{"EndpointId": region_albs["us-east-2"]}]

    def create_group(**params: Any) -> dict[str, str]:
        return error_of(lambda: ga.create_endpoint_group(
            **{"ListenerArn": listener_arn, "EndpointGroupRegion": "us-east-2", **params}))

    assert create_group(TrafficDialPercentage=101) == {"Code": "ValidationException", "Message": (
        "1 validation error detected: Value '101.0' at 'trafficDialPercentage' failed to satisfy constraint: "
        "Member must have value less than or equal to 100")}
    two = create_group(EndpointConfigurations=[{"EndpointId": region_albs["us-east-2"], "Weight": 256}],
                       ThresholdCount=11)
    assert two["Message"] == (
        "2 validation errors detected: Value '256' at 'endpointConfigurations.1.member.weight' failed to satisfy "
        "constraint: Member must have value less than or equal to 255; Value '11' at 'thresholdCount' failed to "
        "satisfy constraint: Member must have value less than or equal to 10")
    assert create_group(HealthCheckIntervalSeconds=20, EndpointConfigurations=endpoint) == {
        "Code": "InvalidArgumentException", "Message": "HealthCheckIntervalSeconds must be 10 or 30, not 20."}
    assert create_group(HealthCheckPath="/status")["Code"] == "InvalidArgumentException"  # TCP checks have no path
    assert create_group(EndpointGroupRegion="us-middle-1") == {
        "Code": "InvalidArgumentException", "Message": "EndpointGroupRegion 'us-middle-1' is not an AWS Region."}
    assert create_group(EndpointConfigurations=[{"EndpointId": "my-server.example.com"}])["Code"] == \
        "InvalidArgumentException"
    enum = error_of(lambda: ga.create_listener(AcceleratorArn=accelerator_arn, Protocol="HTTP",
                                               PortRanges=[{"FromPort": 443, "ToPort": 443}]))
    assert enum["Message"].endswith("at 'protocol' failed to satisfy constraint: Member must satisfy enum value set: "
                                    "[TCP, UDP]")

    # Without botocore's own checks, a missing required member reaches the service.
    unchecked = boto3.client("globalaccelerator", region_name="us-west-2", endpoint_url=sandbox.endpoint_url,
                             config=Config(parameter_validation=False), **DUMMY_CREDENTIALS)
    assert error_of(lambda: unchecked.create_endpoint_group(ListenerArn=listener_arn)) == {
        "Code": "ValidationException", "Message": "1 validation error detected: Value null at 'endpointGroupRegion' "
                                                  "failed to satisfy constraint: Member must not be null"}
    assert error_of(lambda: unchecked.describe_accelerator(AcceleratorArn=7))["Code"] == "SerializationException"

    elsewhere = error_of(lambda: sandbox.client("globalaccelerator", "us-east-1").list_accelerators())
    assert elsewhere == {"Code": "UnrecognizedClientException", "Message": (
        "Global Accelerator's API is served only in us-west-2; this request was signed for us-east-1.")}
    unsupported = error_of(lambda: ga.list_custom_routing_accelerators())
    assert unsupported["Code"] == "UnsupportedOperation" and "ListCustomRoutingAccelerators" in unsupported["Message"]


def test_local_zone_and_unknown_load_balancers_are_refused(sandbox: Sandbox, ga: Any,
                                                           region_albs: dict[str, str]) -> None:
    _accelerator, listener_arn = accelerator_with_listener(ga, "local-zone")
    local_zone_alb = site_alb(sandbox, "localzone")  # in us-east-1-bos-1a

    def refusal(region: str, endpoint_id: str) -> dict[str, str]:
        return error_of(lambda: ga.create_endpoint_group(ListenerArn=listener_arn, EndpointGroupRegion=region,
                                                         EndpointConfigurations=[{"EndpointId": endpoint_id}]))

    local = refusal("us-east-1", local_zone_alb)
    assert local["Code"] == "InvalidArgumentException"
    assert "does not support endpoints in Local Zones" in local["Message"] and "us-east-1-bos-1a" in local["Message"]
    assert "not in the endpoint group's Region" in refusal("us-east-1", region_albs["us-east-2"])["Message"]
    gone = region_albs["us-east-2"].rsplit("/", 1)[0] + "/0123456789abcdef"
    assert "does not exist in us-east-2" in refusal("us-east-2", gone)["Message"]
    assert ga.list_endpoint_groups(ListenerArn=listener_arn)["EndpointGroups"] == []


# -- health and routing -------------------------------------------------------------------------


def test_traffic_fails_over_to_a_zero_dial_region_when_the_primary_site_fails(
        sandbox: Sandbox, ga: Any, region_albs: dict[str, str]) -> None:
    accelerator_arn, listener_arn = accelerator_with_listener(ga, "failover")
    primary = group_with(ga, listener_arn, "us-west-2", site_alb(sandbox, "outposts"), dial=100)
    group_with(ga, listener_arn, "us-east-2", region_albs["us-east-2"], dial=0)
    assert health(listener_status(sandbox, listener_arn)) == {"us-west-2": "INITIAL", "us-east-2": "INITIAL"}
    seconds_until(lambda: health(listener_status(sandbox, listener_arn)) == {"us-west-2": "HEALTHY", "us-east-2": "HEALTHY"})
    listener = listener_status(sandbox, listener_arn)
    assert listener["serving_region"] == "us-west-2"
    assert listener["serving_shares"] == {"us-west-2": 1.0, "us-east-2": 0.0}  # the secondary's dial is 0
    assert [g["endpoints"][0]["site"] for g in listener["endpoint_groups"]] == ["outposts", None]
    try:
        sandbox.fail("outposts")
        assert listener_status(sandbox, listener_arn)["serving_region"] == "us-west-2"  # not noticed yet
        took = seconds_until(lambda: listener_status(sandbox, listener_arn)["serving_region"] == "us-east-2")
        assert took >= 0.3  # 10 s * 1 * time scale 0.05, minus polling slack
        listener = listener_status(sandbox, listener_arn)
        assert health(listener) == {"us-west-2": "UNHEALTHY", "us-east-2": "HEALTHY"}
        assert listener["serving_shares"] == {"us-west-2": 0.0, "us-east-2": 1.0}
        (endpoint,) = ga.describe_endpoint_group(EndpointGroupArn=primary)["EndpointGroup"]["EndpointDescriptions"]
        assert (endpoint["HealthState"], endpoint["HealthReason"]) == ("UNHEALTHY", "Health checks failed")
    finally:
        sandbox.recover("outposts")
    seconds_until(lambda: listener_status(sandbox, listener_arn)["serving_region"] == "us-west-2")

    ga.update_accelerator(AcceleratorArn=accelerator_arn, Enabled=False)
    assert listener_status(sandbox, listener_arn)["serving_region"] is None  # a disabled accelerator serves nothing


def test_fails_open_by_dial_when_no_endpoint_is_healthy(sandbox: Sandbox, ga: Any) -> None:
    _accelerator, listener_arn = accelerator_with_listener(ga, "fail-open")
    doomed = create_alb(sandbox, "eu-west-1", "ga-doomed-alb")
    group_with(ga, listener_arn, "us-west-2", site_alb(sandbox, "outposts"), dial=20)
    group_with(ga, listener_arn, "eu-west-1", doomed, dial=60)
    delete_alb(sandbox, doomed)  # a load balancer that no longer exists is unhealthy
    seconds_until(lambda: health(listener_status(sandbox, listener_arn)) == {"us-west-2": "HEALTHY",
                                                                        "eu-west-1": "UNHEALTHY"})
    listener = listener_status(sandbox, listener_arn)
    assert listener["serving_region"] == "us-west-2"
    assert listener["serving_shares"] == {"us-west-2": 1.0, "eu-west-1": 0.0}  # only the healthy group serves
    try:
        sandbox.fail("outposts")
        seconds_until(lambda: health(listener_status(sandbox, listener_arn)) == {"us-west-2": "UNHEALTHY",
                                                                            "eu-west-1": "UNHEALTHY"})
        listener = listener_status(sandbox, listener_arn)
        assert listener["serving_shares"] == {"us-west-2": 0.25, "eu-west-1": 0.75}
        assert listener["serving_region"] == "eu-west-1"
    finally:
        sandbox.recover("outposts")
    seconds_until(lambda: listener_status(sandbox, listener_arn)["serving_region"] == "us-west-2")


# -- configuration --------------------------------------------------------------------------------


def test_deploy_delay_is_configurable(tmp_path: Path, cli: Callable) -> None:
    box = Sandbox(tmp_path)
    try:
        box.up([], ga_deploy_seconds=0)
        ga = box.client("globalaccelerator", "us-west-2")
        assert ga.create_accelerator(Name="instant")["Accelerator"]["Status"] == "DEPLOYED"
        (accelerator,) = box.status()["global_accelerators"]
        assert (accelerator["name"], accelerator["status"], accelerator["listeners"]) == ("instant", "DEPLOYED", [])
        shown = cli("status", "--state-dir", str(tmp_path)).stdout.splitlines()
        assert "Global Accelerator:" in shown
        assert any(line.split()[:3] == ["instant", "DEPLOYED", accelerator["dns_name"]] for line in shown)
    finally:
        box.down()
