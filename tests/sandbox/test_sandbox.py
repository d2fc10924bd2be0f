"""The sandbox through real boto3 clients and its CLI: what moto lacks, seeding, health, process."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from botocore.exceptions import ClientError

from sandbox import Sandbox
from sandbox.extensions.ec2 import LOCAL_ZONE_INSTANCE_TYPES
from sandbox.extensions.outposts import OUTPOST_INSTANCE_TYPES

from .helpers import seconds_until

INVENTORY = Path(__file__).resolve().parent / "inventory"
OUTPOST_ARN = "arn:aws:outposts:us-west-2:123456789012:outpost/op-0a1b2c3d4e5f60001"


def observed(route53: Any, check_id: str) -> set[str]:
    """The distinct outcomes (``Success``/``Failure``) the checker Regions report for a check."""
    observations = route53.get_health_check_status(HealthCheckId=check_id)["HealthCheckObservations"]
    assert len(observations) > 1
    return {o["StatusReport"]["Status"].split(":")[0] for o in observations}


def create_check(route53: Any, target: str, **config: Any) -> str:
    """An HTTP health check of ``target`` probing every 10 s, failing after one miss (0.5 s here)."""
    config = {"Type": "HTTP", "FullyQualifiedDomainName": target, "Port": 80, "ResourcePath": "/",
              "RequestInterval": 10, "FailureThreshold": 1, **config}
    return route53.create_health_check(CallerReference=str(uuid.uuid4()), HealthCheckConfig=config)["HealthCheck"]["Id"]


def site(sandbox: Sandbox, name: str) -> dict[str, Any]:
    return next(s for s in sandbox.status()["sites"] if s["name"] == name)


# -- EC2: Local Zones, Outpost subnets, instance-type offerings -------------------------------


def test_local_zones_are_listed_on_request_with_their_parent_zone(sandbox: Sandbox) -> None:
    ec2 = sandbox.client("ec2", "us-east-1")
    default = ec2.describe_availability_zones()["AvailabilityZones"]
    assert {z["ZoneType"] for z in default} == {"availability-zone"}

    zones = {z["ZoneName"]: z for z in ec2.describe_availability_zones(AllAvailabilityZones=True)["AvailabilityZones"]}
    boston = zones["us-east-1-bos-1a"]
    assert boston["ZoneType"] == "local-zone"
    assert boston["ParentZoneName"] == "us-east-1a"
    assert boston["ParentZoneId"] == zones["us-east-1a"]["ZoneId"]
    assert boston["GroupName"] == boston["NetworkBorderGroup"] == "us-east-1-bos-1"
    assert boston["OptInStatus"] == "opted-in"
    assert zones["us-east-1a"]["ZoneType"] == "availability-zone"

    local = ec2.describe_availability_zones(Filters=[{"Name": "zone-type", "Values": ["local-zone"]}])
    assert "us-east-1-bos-1a" in {z["ZoneName"] for z in local["AvailabilityZones"]}
    assert {z["ZoneType"] for z in local["AvailabilityZones"]} == {"local-zone"}
    west = sandbox.client("ec2", "us-west-2").describe_availability_zones(ZoneNames=["us-west-2-lax-1a"])
    assert [z["ParentZoneName"] for z in west["AvailabilityZones"]] == ["us-west-2a"]


def test_subnet_in_a_local_zone_keeps_its_outpost_arn(sandbox: Sandbox) -> None:
    ec2 = sandbox.client("ec2", "us-east-1")
    vpc_id = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    created = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.99.1.0/24", AvailabilityZone="us-east-1-bos-1a",
                                OutpostArn=OUTPOST_ARN)["Subnet"]
    assert created["OutpostArn"] == OUTPOST_ARN
    described = ec2.describe_subnets(SubnetIds=[created["SubnetId"]])["Subnets"][0]
    assert described["AvailabilityZone"] == "us-east-1-bos-1a"
    assert described["OutpostArn"] == OUTPOST_ARN
    by_outpost = ec2.describe_subnets(Filters=[{"Name": "outpost-arn", "Values": [OUTPOST_ARN]},
                                               {"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert [s["SubnetId"] for s in by_outpost] == [created["SubnetId"]]


def test_local_zone_offers_a_limited_set_of_instance_types(sandbox: Sandbox) -> None:
    ec2 = sandbox.client("ec2", "us-east-1")

    def offered(zone: str) -> set[str]:
        answer = ec2.describe_instance_type_offerings(
            LocationType="availability-zone", Filters=[{"Name": "location", "Values": [zone]}])
        return {o["InstanceType"] for o in answer["InstanceTypeOfferings"]}

    assert offered("us-east-1-bos-1a") == set(LOCAL_ZONE_INSTANCE_TYPES)
    assert len(offered("us-east-1a")) > 100  # a Region AZ keeps moto's full answer


# -- Outposts -----------------------------------------------------------------------------------


def test_outposts_declared_by_seeded_subnets(sandbox: Sandbox) -> None:
    outposts = sandbox.client("outposts", "us-west-2")
    listed = outposts.list_outposts()["Outposts"]
    assert [(o["OutpostId"], o["Name"], o["AvailabilityZone"]) for o in listed] == [
        ("op-0a1b2c3d4e5f60001", "outposts", "us-west-2a")]
    assert outposts.get_outpost(OutpostId=OUTPOST_ARN)["Outpost"]["OutpostArn"] == OUTPOST_ARN

    types = outposts.get_outpost_instance_types(OutpostId="op-0a1b2c3d4e5f60001")["InstanceTypes"]
    assert [t["InstanceType"] for t in types] == list(OUTPOST_INSTANCE_TYPES)
    assert all(t["VCPUs"] > 0 for t in types)
    with pytest.raises(ClientError) as error:
        outposts.get_outpost_instance_types(OutpostId="op-00000000000000000")
    assert error.value.response["Error"]["Code"] == "NotFoundException"
    assert sandbox.client("outposts", "us-east-1").list_outposts()["Outposts"] == []


# -- Route 53 health checks ----------------------------------------------------------------------


def test_health_check_follows_site_after_detection_delay(sandbox: Sandbox) -> None:
    route53 = sandbox.client("route53")
    alb = site(sandbox, "outposts")["load_balancer"]["dns_name"]
    check_id = create_check(route53, alb.upper() + ".")  # matched case-insensitively, trailing dot ignored
    assert observed(route53, check_id) == {"Success"}
    try:
        sandbox.fail("outposts")
        assert observed(route53, check_id) == {"Success"}  # checkers have not noticed yet
        took = seconds_until(lambda: observed(route53, check_id) == {"Failure"})
        assert took >= 0.3  # 10 s * 1 * time scale 0.05, minus polling slack
        report = next(c for c in sandbox.status()["health_checks"] if c["id"] == check_id)
        assert (report["site"], report["status"]) == ("outposts", "Unhealthy")
    finally:
        sandbox.recover("outposts")
    seconds_until(lambda: observed(route53, check_id) == {"Success"})


def test_check_on_a_port_without_listener_fails_after_detection_delay(sandbox: Sandbox) -> None:
    route53 = sandbox.client("route53")
    alb = site(sandbox, "localzone")["load_balancer"]["dns_name"]
    check_id = create_check(route53, alb)
    assert observed(route53, check_id) == {"Success"}
    route53.update_health_check(HealthCheckId=check_id, Port=801)  # the seed runbook's way to drain a site
    assert observed(route53, check_id) == {"Success"}  # checkers have not noticed yet
    assert seconds_until(lambda: observed(route53, check_id) == {"Failure"}) >= 0.3
    route53.update_health_check(HealthCheckId=check_id, Port=80)
    seconds_until(lambda: observed(route53, check_id) == {"Success"})


def routing_status(sandbox: Sandbox, check_id: str) -> str:
    """The status Route 53 routes on, as the sandbox computes it (Disabled and Inverted applied)."""
    return next(c["status"] for c in sandbox.status()["health_checks"] if c["id"] == check_id)


def test_inverted_flips_the_routing_status_not_the_observations(sandbox: Sandbox) -> None:
    route53 = sandbox.client("route53")
    check_id = create_check(route53, "unknown-target.example.net")  # unknown targets are healthy
    assert observed(route53, check_id) == {"Success"}
    updated = route53.update_health_check(HealthCheckId=check_id, Inverted=True, Port=8080)["HealthCheck"]
    fetched = route53.get_health_check(HealthCheckId=check_id)["HealthCheck"]
    assert fetched["HealthCheckConfig"]["Inverted"] is True
    assert fetched["HealthCheckConfig"]["Port"] == 8080
    assert updated["HealthCheckVersion"] == fetched["HealthCheckVersion"] == 2
    assert observed(route53, check_id) == {"Success"}  # checkers still reach the endpoint
    assert routing_status(sandbox, check_id) == "Unhealthy"


def test_disabled_counts_as_healthy_and_inverted_still_applies(sandbox: Sandbox) -> None:
    route53 = sandbox.client("route53")
    alb = site(sandbox, "localzone")["load_balancer"]["dns_name"]
    check_id = create_check(route53, alb, Disabled=True)
    try:
        sandbox.fail("localzone")
        time.sleep(0.6)  # longer than the detection delay
        assert observed(route53, check_id) == {"Failure"}  # the endpoint is down
        assert routing_status(sandbox, check_id) == "Healthy"  # disabled: considered healthy
        route53.update_health_check(HealthCheckId=check_id, Inverted=True)
        assert routing_status(sandbox, check_id) == "Unhealthy"  # the documented way to stop routing to it
        route53.update_health_check(HealthCheckId=check_id, Inverted=False, Disabled=False)
        assert routing_status(sandbox, check_id) == "Unhealthy"  # enabled again: the site is down
    finally:
        sandbox.recover("localzone")


def test_route53_records_with_health_checks(sandbox: Sandbox) -> None:
    route53 = sandbox.client("route53")
    zone_id = route53.list_hosted_zones_by_name(DNSName="example.com.")["HostedZones"][0]["Id"]
    balancers = {name: site(sandbox, name)["load_balancer"] for name in ("outposts", "localzone")}
    check_id = create_check(route53, balancers["outposts"]["dns_name"])

    def alias(name: str, role: str) -> dict[str, Any]:
        balancer = balancers[name]
        record = {"Name": "www.example.com", "Type": "A", "SetIdentifier": name, "Failover": role,
                  "AliasTarget": {"HostedZoneId": balancer["canonical_hosted_zone_id"],
                                  "DNSName": balancer["dns_name"], "EvaluateTargetHealth": False}}
        return {"Action": "UPSERT", "ResourceRecordSet": record}

    weighted = {"Action": "UPSERT", "ResourceRecordSet": {
        "Name": "app.example.com", "Type": "CNAME", "SetIdentifier": "outposts", "Weight": 100, "TTL": 60,
        "HealthCheckId": check_id, "ResourceRecords": [{"Value": balancers["outposts"]["dns_name"]}]}}
    primary = alias("outposts", "PRIMARY")
    primary["ResourceRecordSet"]["HealthCheckId"] = check_id
    change = route53.change_resource_record_sets(
        HostedZoneId=zone_id, ChangeBatch={"Changes": [primary, alias("localzone", "SECONDARY"), weighted]})
    assert route53.get_change(Id=change["ChangeInfo"]["Id"])["ChangeInfo"]["Id"].startswith("/change/")

    records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    failover = {r["SetIdentifier"]: r for r in records if r["Name"] == "www.example.com."}
    assert failover["outposts"]["HealthCheckId"] == check_id
    assert failover["localzone"]["Failover"] == "SECONDARY"
    soa = next(r for r in records if r["Type"] == "SOA")["ResourceRecords"][0]["Value"]
    assert soa.startswith("ns-") and "{" not in soa

    # Deleting one routed record leaves other names' records with the same set identifier alone.
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [dict(primary, Action="DELETE")]})
    remaining = {(r["Name"], r.get("SetIdentifier")) for r in route53.list_resource_record_sets(
        HostedZoneId=zone_id)["ResourceRecordSets"]}
    assert ("www.example.com.", "outposts") not in remaining
    assert {("www.example.com.", "localzone"), ("app.example.com.", "outposts")} <= remaining

    route53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=check_id,
                                     AddTags=[{"Key": "Name", "Value": "outposts"}])
    tag_sets = route53.list_tags_for_resources(ResourceType="healthcheck", ResourceIds=[check_id])["ResourceTagSets"]
    assert tag_sets[0]["Tags"] == [{"Key": "Name", "Value": "outposts"}]


# -- Seeding, CLI, process ------------------------------------------------------------------------


def test_seeding_twice_creates_nothing_new(sandbox: Sandbox) -> None:
    summary = sandbox.up([INVENTORY])
    assert summary["started"] is False
    assert summary["inventories"][0]["created"] == []
    ec2 = sandbox.client("ec2", "us-east-1")
    assert len(ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["eks-ha-localzone"]}])["Vpcs"]) == 1
    assert len(ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": ["eks-ha-localzone-bos"]}])["Subnets"]) == 1
    balancers = sandbox.client("elbv2", "us-west-2").describe_load_balancers()["LoadBalancers"]
    assert [b["LoadBalancerName"] for b in balancers] == ["eks-ha-outposts-alb"]
    assert balancers[0]["AvailabilityZones"] == [{"ZoneName": "us-west-2a", "SubnetId": site(sandbox, "outposts")["subnet_ids"][0]}]
    zones = sandbox.client("route53").list_hosted_zones()["HostedZones"]
    assert [z["Name"] for z in zones] == ["example.com."]


def test_vars_file_has_exactly_the_playbook_keys(sandbox: Sandbox) -> None:
    values = yaml.safe_load(sandbox.vars_file.read_text())
    assert values == {
        "aws_endpoint_url": sandbox.endpoint_url,
        "aws_access_key": "testing",
        "aws_secret_key": "testing",
        "sandbox_state_dir": str(sandbox.state_dir),
        "sandbox_kubeconfig": str(sandbox.state_dir / "kubeconfig"),
        "gitops_repo_remote": (sandbox.state_dir / "gitops.git").as_uri(),
        "flux_manifests_file": values["flux_manifests_file"],
        "site_kubeconfig_dir": str(sandbox.state_dir / "kube"),
        "data_tier_metric_period": 1,
    }
    assert (sandbox.state_dir / "gitops.git" / "HEAD").exists()
    assert "kind: CustomResourceDefinition" in Path(values["flux_manifests_file"]).read_text()
    kubeconfig = yaml.safe_load((sandbox.state_dir / "kubeconfig").read_text())
    assert {context["name"] for context in kubeconfig["contexts"]} == {"eks-ha-outposts", "eks-ha-localzone"}


def test_cli_status_and_unknown_site(sandbox: Sandbox, cli: Callable) -> None:
    status = cli("status", "--json", "--state-dir", str(sandbox.state_dir))
    report = json.loads(status.stdout)
    assert report["running"] is True
    assert {s["name"]: s["kind"] for s in report["sites"]} == {"outposts": "outpost", "localzone": "local_zone"}

    unknown = cli("fail", "atlantis", "--state-dir", str(sandbox.state_dir))
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == "Unknown site 'atlantis'; known sites: outposts, localzone."


def test_down_stops_the_server(tmp_path: Any, cli: Callable) -> None:
    box = Sandbox(tmp_path)
    box.up([])
    pid = json.loads(box.process_file.read_text())["pid"]
    stopped = cli("down", "--state-dir", str(tmp_path))
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    # The server is this test's child: it must have exited cleanly (code 0) on SIGTERM.
    assert box._process.pid == pid and box._process.wait(timeout=5) == 0
    assert not box.process_file.exists()
    assert cli("down", "--state-dir", str(tmp_path)).stdout.strip() == "Sandbox was not running."
    assert cli("status", "--state-dir", str(tmp_path)).stdout.startswith("Sandbox: not running")
