"""outpost-lz end to end on the sandbox: deploy, idempotence, check mode, unplanned and planned failover, failback.

The tests run in file order and share one sandbox: each step starts from the state the previous one left.
"""

from __future__ import annotations

import time

import pytest

from kubernetes import client

from .conftest import aws_client, kubernetes_api, node_groups, route53_snapshot, run_changing_nothing, run_playbook, serving_site

pytestmark = pytest.mark.integration

INVENTORY = "inventories/outpost-lz"
CLUSTERS = {"outposts": ("eks-ha-outposts", "us-west-2"), "localzone": ("eks-ha-localzone", "us-east-1")}
ZONE = "example.com"
NAME = "www.example.com"


def serving(sandbox) -> str:
    return serving_site(sandbox, INVENTORY)


def test_deploy_check_mode_on_a_new_account_changes_nothing(sandbox):
    """Runs first, before any deploy: the plan is shown and nothing changes in AWS, Kubernetes or git."""
    run = run_changing_nothing(sandbox, INVENTORY, "deploy.yml", "--check", "--diff")
    assert "Flux v2.4.0 would be installed in flux-system" in run.output
    assert "would follow once these sites have their load balancers: outposts, localzone" in run.output
    assert route53_snapshot(sandbox, ZONE, NAME) == {"records": [], "health_checks": {}}


@pytest.fixture(scope="module")
def deployed(sandbox):
    """The state right after the first deploy."""
    run = run_playbook(sandbox, INVENTORY, "deploy.yml")
    assert run.returncode == 0, run.output
    assert run.changed > 0
    return route53_snapshot(sandbox, ZONE, NAME)


def test_deploy_runs_the_app_on_both_clusters_through_flux(sandbox, deployed):
    for cluster, _region in CLUSTERS.values():
        api = kubernetes_api(sandbox, cluster)
        apps = client.AppsV1Api(api)
        for namespace, name in (("flux-system", "source-controller"), ("kube-system", "aws-load-balancer-controller"),
                                ("game-2048", "deployment-2048")):
            deployment = apps.read_namespaced_deployment(name, namespace)
            assert deployment.status.ready_replicas == deployment.spec.replicas, (cluster, name)
        kustomization = client.CustomObjectsApi(api).get_namespaced_custom_object(
            "kustomize.toolkit.fluxcd.io", "v1", "flux-system", "kustomizations", "apps")
        assert kustomization["status"]["lastAppliedRevision"].startswith("main@sha1:")


def test_deploy_makes_self_managed_node_groups_on_the_outpost_and_in_the_local_zone(sandbox, deployed):
    # EKS has no managed node groups on Outposts: a launch template and an Auto Scaling group whose instances join.
    assert node_groups(sandbox, *CLUSTERS["outposts"]) == {
        "outposts-workers": {"kind": "self_managed", "nodes": ["us-west-2a", "us-west-2a"]}}
    assert node_groups(sandbox, *CLUSTERS["localzone"]) == {
        "localzone-workers": {"kind": "self_managed", "nodes": ["us-east-1-bos-1a", "us-east-1-bos-1a"]}}


def test_deploy_creates_failover_records_to_each_sites_ingress(sandbox, deployed):
    records = {r["SetIdentifier"]: r for r in deployed["records"]}
    assert set(records) == {"outposts", "localzone"}
    assert records["outposts"]["Failover"] == "PRIMARY"
    assert records["localzone"]["Failover"] == "SECONDARY"
    for site, (cluster, region) in CLUSTERS.items():
        ingress = client.NetworkingV1Api(kubernetes_api(sandbox, cluster)).read_namespaced_ingress(
            "ingress-2048", "game-2048")
        hostname = ingress.status.load_balancer.ingress[0].hostname
        alb = next(lb for lb in aws_client(sandbox, "elbv2", region).describe_load_balancers()["LoadBalancers"]
                   if lb["DNSName"] == hostname)
        assert records[site]["AliasTarget"]["DNSName"].rstrip(".").lower() == hostname.lower()
        assert records[site]["AliasTarget"]["HostedZoneId"] == alb["CanonicalHostedZoneId"]
    for record in records.values():
        config = deployed["health_checks"][record["HealthCheckId"]]["config"]
        assert config["Type"] == "HTTP" and config["Port"] == 80 and config["RequestInterval"] == 30
        assert config["FailureThreshold"] == 3 and not config.get("Inverted", False)
    assert serving(sandbox) == "outposts"


def test_second_deploy_changes_nothing(sandbox, deployed):
    run = run_playbook(sandbox, INVENTORY, "deploy.yml")
    assert run.returncode == 0, run.output
    assert run.changed == 0, run.output
    assert route53_snapshot(sandbox, ZONE, NAME) == deployed


def test_failover_check_mode_changes_nothing(sandbox, deployed):
    run = run_changing_nothing(sandbox, INVENTORY, "failover.yml", "--check", "--diff")
    assert "inverted" in run.output.lower()  # the plan says it would drain the primary
    assert route53_snapshot(sandbox, ZONE, NAME) == deployed
    assert serving(sandbox) == "outposts"


def test_unplanned_outage_moves_traffic_without_a_playbook(sandbox, deployed):
    sandbox.fail("outposts")
    try:
        run = run_playbook(sandbox, INVENTORY, "status.yml", "-e", "expect_site=localzone")
        assert run.returncode == 0, run.output
        assert route53_snapshot(sandbox, ZONE, NAME) == deployed  # nothing was written
    finally:
        sandbox.recover("outposts")
    run = run_playbook(sandbox, INVENTORY, "status.yml", "-e", "expect_site=outposts")
    assert run.returncode == 0, run.output


def wait_until_checkers_see(sandbox, site: str, status: str, timeout: float = 30.0) -> None:
    """Wait until the sandbox's Route 53 routes on ``status`` for the health check of ``site``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if {c["status"] for c in sandbox.status()["health_checks"] if c["site"] == site} == {status}:
            return
        time.sleep(0.2)
    raise AssertionError(f"the health check of {site} did not turn {status} within {timeout} s")


def test_failover_refuses_an_unhealthy_target(sandbox, deployed):
    sandbox.fail("localzone")
    try:
        wait_until_checkers_see(sandbox, "localzone", "Unhealthy")
        run = run_playbook(sandbox, INVENTORY, "failover.yml")
        assert run.returncode != 0
        assert "localzone is not a healthy target" in run.output, run.output
        assert route53_snapshot(sandbox, ZONE, NAME) == deployed
    finally:
        sandbox.recover("localzone")
    wait_until_checkers_see(sandbox, "localzone", "Healthy")


def test_failover_rejects_an_unknown_target(sandbox, deployed):
    run = run_playbook(sandbox, INVENTORY, "failover.yml", "-e", "failover_target=mars")
    assert run.returncode != 0
    assert "failover_target must be one of the sites outposts, localzone; got mars" in run.output, run.output
    assert route53_snapshot(sandbox, ZONE, NAME) == deployed


def test_planned_failover_then_failback_restores_the_deployed_state(sandbox, deployed):
    run_playbook(sandbox, INVENTORY, "status.yml", "-e", "expect_site=outposts", "-e", "traffic_verify_timeout=60")
    run = run_playbook(sandbox, INVENTORY, "failover.yml")
    assert run.returncode == 0, run.output
    assert serving(sandbox) == "localzone"
    after = route53_snapshot(sandbox, ZONE, NAME)
    primary_check = next(r["HealthCheckId"] for r in after["records"] if r["SetIdentifier"] == "outposts")
    assert after["health_checks"][primary_check]["config"]["Inverted"] is True

    again = run_playbook(sandbox, INVENTORY, "failover.yml")
    assert again.returncode == 0 and again.changed == 0, again.output

    back = run_playbook(sandbox, INVENTORY, "failback.yml")
    assert back.returncode == 0, back.output
    assert serving(sandbox) == "outposts"
    assert route53_snapshot(sandbox, ZONE, NAME) == deployed
