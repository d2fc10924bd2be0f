"""multi-region-ga end to end on the sandbox: two warm clusters behind one Global Accelerator.

The tests run in file order and share one sandbox: each step starts from the state the previous one left.
"""

from __future__ import annotations

import json

import pytest

from .conftest import accelerator_snapshot, route53_snapshot, run_changing_nothing, run_playbook

pytestmark = pytest.mark.integration

INVENTORY = "inventories/multi-region-ga"
ACCELERATOR = "eks-ha-multi-region"
REGIONS = {"primary": "us-east-1", "secondary": "us-west-2"}


def dials(snapshot: dict) -> dict[str, float]:
    return {group["EndpointGroupRegion"]: group["TrafficDialPercentage"] for group in snapshot["endpoint_groups"]}


def serving_region(sandbox) -> str:
    accelerator = next(a for a in sandbox.status()["global_accelerators"] if a["name"] == ACCELERATOR)
    return accelerator["listeners"][0]["serving_region"]


def test_deploy_check_mode_on_a_new_account_changes_nothing(sandbox):
    run_changing_nothing(sandbox, INVENTORY, "deploy.yml", "--check", "--diff")


@pytest.fixture(scope="module")
def deployed(sandbox):
    run = run_playbook(sandbox, INVENTORY, "deploy.yml")
    assert run.returncode == 0, run.output
    return accelerator_snapshot(sandbox, ACCELERATOR)


def test_deploy_builds_the_accelerator_of_seed_003(sandbox, deployed):
    assert deployed["accelerator"]["Enabled"] and deployed["tags"] == {"architecture": "multi-region-ga"}
    listener = deployed["listener"]
    assert (listener["Protocol"], listener["PortRanges"]) == ("TCP", [{"FromPort": 80, "ToPort": 80}])
    assert dials(deployed) == {"us-east-1": 100.0, "us-west-2": 0.0}
    for group in deployed["endpoint_groups"]:
        region = group["EndpointGroupRegion"]
        [endpoint] = group["EndpointDescriptions"]
        balancers = sandbox.client("elbv2", region).describe_load_balancers()["LoadBalancers"]
        assert endpoint["EndpointId"] in {lb["LoadBalancerArn"] for lb in balancers}  # the Ingress's ALB
        assert (endpoint["Weight"], endpoint["ClientIPPreservationEnabled"]) == (128, True)
        assert (group["HealthCheckIntervalSeconds"], group["ThresholdCount"]) == (10, 3)
    assert serving_region(sandbox) == "us-east-1"
    # The optional custom name: an alias to the accelerator's DNS name.
    [alias] = [r for r in route53_snapshot(sandbox, "example.org", "multi-region.example.org")["records"]]
    assert alias["AliasTarget"]["DNSName"].rstrip(".") == deployed["accelerator"]["DnsName"]
    assert alias["AliasTarget"]["HostedZoneId"] == "Z2BJ6XQ5FK7U4H"


def test_second_deploy_changes_nothing(sandbox, deployed):
    run = run_changing_nothing(sandbox, INVENTORY, "deploy.yml")
    assert run.changed == 0, run.output


def test_failover_check_mode_changes_nothing(sandbox, deployed):
    run = run_changing_nothing(sandbox, INVENTORY, "failover.yml", "--check", "--diff")
    assert "dial 100% -> 0%" in run.output and "dial 0% -> 100%" in run.output


def test_failover_turns_the_dials_and_the_secondary_serves(sandbox, deployed):
    run = run_playbook(sandbox, INVENTORY, "failover.yml")
    assert run.returncode == 0, run.output
    after = accelerator_snapshot(sandbox, ACCELERATOR)
    assert dials(after) == {"us-east-1": 0.0, "us-west-2": 100.0}
    assert serving_region(sandbox) == "us-west-2"
    # The secondary's dial went up before the primary's went down.
    assert run.output.index("endpoint group in us-west-2: dial") < run.output.index("endpoint group in us-east-1: dial")
    # Nothing but the dials moved.
    for group in after["endpoint_groups"]:
        before = next(g for g in deployed["endpoint_groups"] if g["EndpointGroupArn"] == group["EndpointGroupArn"])
        assert {k: v for k, v in group.items() if k != "TrafficDialPercentage"} == \
               {k: v for k, v in before.items() if k != "TrafficDialPercentage"}


def test_failback_restores_the_state_after_deploy(sandbox, deployed):
    run = run_playbook(sandbox, INVENTORY, "failback.yml")
    assert run.returncode == 0, run.output
    assert accelerator_snapshot(sandbox, ACCELERATOR) == deployed
    assert serving_region(sandbox) == "us-east-1"


def test_losing_the_primary_moves_traffic_despite_the_dial(sandbox, deployed, tmp_path):
    """Unplanned: no playbook turns a dial; Global Accelerator's failover ignores the secondary's 0%."""
    status_file = tmp_path / "status.json"
    sandbox.fail("primary")
    try:
        run = run_playbook(sandbox, INVENTORY, "status.yml", "-e", "expect_site=secondary",
                           "-e", f"traffic_status_file={status_file}")
        assert run.returncode == 0, run.output
        status = json.loads(status_file.read_text())
        assert status["serving_site"] == "secondary"
        assert status["endpoint_groups"]["primary"]["healthy"] is False
        assert dials(accelerator_snapshot(sandbox, ACCELERATOR)) == {"us-east-1": 100.0, "us-west-2": 0.0}
        # A planned failback to the failed primary is refused by the pre-flight.
        refused = run_playbook(sandbox, INVENTORY, "failover.yml", "-e", "failover_target=primary")
        assert refused.returncode != 0 and "is not a healthy target" in refused.output
    finally:
        sandbox.recover("primary")
    run = run_playbook(sandbox, INVENTORY, "status.yml", "-e", "expect_site=primary")
    assert run.returncode == 0, run.output
