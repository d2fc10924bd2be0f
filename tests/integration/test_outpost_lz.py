"""outpost-lz end to end on the sandbox: deploy, idempotence, check mode, unplanned and planned failover, failback.

The tests run in file order and share one sandbox: each step starts from the state the previous one left.
"""

from __future__ import annotations

import json
import time

import pytest

from .conftest import aws_client, route53_snapshot, run_playbook

pytestmark = pytest.mark.integration

INVENTORY = "inventories/outpost-lz"
ZONE = "example.com"
NAME = "www.example.com"


def serving(sandbox) -> str:
    """Ask the read-only status playbook which site Route 53 answers with."""
    status_file = sandbox.state_dir / "status.json"
    run = run_playbook(sandbox, INVENTORY, "status.yml", "-e", f"traffic_status_file={status_file}")
    assert run.returncode == 0, run.output
    return json.loads(status_file.read_text())["serving_site"]


def test_deploy_check_mode_on_an_empty_zone_changes_nothing(outpost_lz):
    """Runs first, before any deploy: the plan is shown and Route 53 stays empty."""
    run = run_playbook(outpost_lz, INVENTORY, "deploy.yml", "--check", "--diff")
    assert run.returncode == 0, run.output
    assert "created health check of outposts" in run.output
    assert route53_snapshot(outpost_lz, ZONE, NAME) == {"records": [], "health_checks": {}}


@pytest.fixture(scope="module")
def deployed(outpost_lz):
    """The state right after the first deploy."""
    run = run_playbook(outpost_lz, INVENTORY, "deploy.yml")
    assert run.returncode == 0, run.output
    assert run.changed > 0
    return route53_snapshot(outpost_lz, ZONE, NAME)


def test_deploy_creates_failover_records_with_health_checks(outpost_lz, deployed):
    records = {r["SetIdentifier"]: r for r in deployed["records"]}
    assert set(records) == {"outposts", "localzone"}
    assert records["outposts"]["Failover"] == "PRIMARY"
    assert records["localzone"]["Failover"] == "SECONDARY"
    elbv2 = aws_client(outpost_lz, "elbv2", "us-west-2")
    alb = elbv2.describe_load_balancers(Names=["eks-ha-outposts-alb"])["LoadBalancers"][0]
    assert records["outposts"]["AliasTarget"]["DNSName"].rstrip(".").lower() == alb["DNSName"].lower()
    assert records["outposts"]["AliasTarget"]["HostedZoneId"] == alb["CanonicalHostedZoneId"]
    for record in records.values():
        config = deployed["health_checks"][record["HealthCheckId"]]["config"]
        assert config["Type"] == "HTTP" and config["Port"] == 80 and config["RequestInterval"] == 30
        assert config["FailureThreshold"] == 3 and not config.get("Inverted", False)
    assert serving(outpost_lz) == "outposts"


def test_second_deploy_changes_nothing(outpost_lz, deployed):
    run = run_playbook(outpost_lz, INVENTORY, "deploy.yml")
    assert run.returncode == 0, run.output
    assert run.changed == 0, run.output
    assert route53_snapshot(outpost_lz, ZONE, NAME) == deployed


def test_failover_check_mode_changes_nothing(outpost_lz, deployed):
    run = run_playbook(outpost_lz, INVENTORY, "failover.yml", "--check", "--diff")
    assert run.returncode == 0, run.output
    assert "inverted" in run.output.lower()  # the plan says it would drain the primary
    assert route53_snapshot(outpost_lz, ZONE, NAME) == deployed
    assert serving(outpost_lz) == "outposts"


def test_unplanned_outage_moves_traffic_without_a_playbook(outpost_lz, deployed):
    outpost_lz.fail("outposts")
    try:
        run = run_playbook(outpost_lz, INVENTORY, "status.yml", "-e", "expect_site=localzone")
        assert run.returncode == 0, run.output
        assert route53_snapshot(outpost_lz, ZONE, NAME) == deployed  # nothing was written
    finally:
        outpost_lz.recover("outposts")
    run = run_playbook(outpost_lz, INVENTORY, "status.yml", "-e", "expect_site=outposts")
    assert run.returncode == 0, run.output


def wait_until_checkers_see(sandbox, site: str, status: str, timeout: float = 30.0) -> None:
    """Wait until the sandbox's Route 53 routes on ``status`` for the health check of ``site``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if {c["status"] for c in sandbox.status()["health_checks"] if c["site"] == site} == {status}:
            return
        time.sleep(0.2)
    raise AssertionError(f"the health check of {site} did not turn {status} within {timeout} s")


def test_failover_refuses_an_unhealthy_target(outpost_lz, deployed):
    outpost_lz.fail("localzone")
    try:
        wait_until_checkers_see(outpost_lz, "localzone", "Unhealthy")
        run = run_playbook(outpost_lz, INVENTORY, "failover.yml")
        assert run.returncode != 0
        assert "localzone is not a healthy target" in run.output, run.output
        assert route53_snapshot(outpost_lz, ZONE, NAME) == deployed
    finally:
        outpost_lz.recover("localzone")
    wait_until_checkers_see(outpost_lz, "localzone", "Healthy")


def test_failover_rejects_an_unknown_target(outpost_lz, deployed):
    run = run_playbook(outpost_lz, INVENTORY, "failover.yml", "-e", "failover_target=mars")
    assert run.returncode != 0
    assert "failover_target must be one of the sites outposts, localzone; got mars" in run.output, run.output
    assert route53_snapshot(outpost_lz, ZONE, NAME) == deployed


def test_planned_failover_then_failback_restores_the_deployed_state(outpost_lz, deployed):
    run_playbook(outpost_lz, INVENTORY, "status.yml", "-e", "expect_site=outposts", "-e", "traffic_verify_timeout=60")
    run = run_playbook(outpost_lz, INVENTORY, "failover.yml")
    assert run.returncode == 0, run.output
    assert serving(outpost_lz) == "localzone"
    after = route53_snapshot(outpost_lz, ZONE, NAME)
    primary_check = next(r["HealthCheckId"] for r in after["records"] if r["SetIdentifier"] == "outposts")
    assert after["health_checks"][primary_check]["config"]["Inverted"] is True

    again = run_playbook(outpost_lz, INVENTORY, "failover.yml")
    assert again.returncode == 0 and again.changed == 0, again.output

    back = run_playbook(outpost_lz, INVENTORY, "failback.yml")
    assert back.returncode == 0, back.output
    assert serving(outpost_lz) == "outposts"
    assert route53_snapshot(outpost_lz, ZONE, NAME) == deployed
