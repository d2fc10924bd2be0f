"""route53_failover and route53_failover_info run by Ansible against a sandbox seeded from outpost-lz.

The records of the name point at the two seeded ALBs and the health checks probe them, so what the checkers
observe follows the sites' state: ``sandbox.fail(site)`` makes a site's checks observe Failure after the
detection delay (RequestInterval 10 * FailureThreshold 1 * time scale 0.05 = 0.5 s), and ``sandbox.status()``
shows the status Route 53 routes on (observations, then ``Inverted``).

The tests run in file order and share one sandbox: each step starts from the state the previous one left.
Every module call goes through a recording proxy, so a test can assert which Route 53 writes a run made.
"""

from __future__ import annotations

import copy
import time

import pytest

from .plays import REPO, task

pytestmark = pytest.mark.integration

# outpost-lz plus one pre-existing ALB per site: the records under test point at those.
INVENTORY = REPO / "tests" / "sandbox" / "inventory"
ZONE = "example.com"
NAME = "app.example.com"
WEIGHTED_NAME = "api.example.com"
PRIMARY = "outposts"
SECONDARY = "localzone"
ALB_REGIONS = {PRIMARY: ("eks-ha-outposts-alb", "us-west-2"), SECONDARY: ("eks-ha-localzone-alb", "us-east-1")}
WAIT_TIMEOUT = 15.0

DRAIN_PRIMARY = f"inverted health check of {PRIMARY} to drain it (endpoint healthy)"
KEEP_PRIMARY_DRAINED = f"kept health check of {PRIMARY} inverted to drain it (endpoint healthy)"
UNDRAIN_PRIMARY = f"un-inverted health check of {PRIMARY} so it serves again"


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def route53(sandbox):
    return sandbox.client("route53", "us-east-1")


@pytest.fixture(scope="module")
def zone_id(route53):
    zones = route53.list_hosted_zones_by_name(DNSName=ZONE + ".")["HostedZones"]
    return next(z["Id"] for z in zones if z["Name"] == ZONE + ".").split("/")[-1]


@pytest.fixture(scope="module")
def albs(sandbox):
    """Site name -> (DNS name, canonical hosted zone id) of its seeded ALB."""
    found = {}
    for site, (name, region) in ALB_REGIONS.items():
        balancer = sandbox.client("elbv2", region).describe_load_balancers(Names=[name])["LoadBalancers"][0]
        found[site] = (balancer["DNSName"], balancer["CanonicalHostedZoneId"])
    return found


@pytest.fixture(scope="module")
def memo():
    """State one test leaves for a later one (the tests run in file order)."""
    return {}


# -- helpers ------------------------------------------------------------------------------------


def snapshot(route53, zone_id):
    """Every record set of the zone and every health check (config, version and tags)."""
    records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    records = sorted((r for r in records if r["Type"] not in ("SOA", "NS")),
                     key=lambda r: (r["Name"], r["Type"], r.get("SetIdentifier", "")))
    checks = {}
    for check in route53.list_health_checks()["HealthChecks"]:
        tags = route53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=check["Id"])
        checks[check["Id"]] = {"config": check["HealthCheckConfig"], "version": check["HealthCheckVersion"],
                               "tags": {t["Key"]: t["Value"] for t in tags["ResourceTagSet"]["Tags"]}}
    return {"records": records, "health_checks": checks}


def unversioned(state):
    """A snapshot without HealthCheckVersion (every update bumps it, even one that restores a value)."""
    state = copy.deepcopy(state)
    for check in state["health_checks"].values():
        check.pop("version")
    return state


def apart_from_inverted(state):
    """A snapshot without HealthCheckVersion and without the Inverted flags."""
    state = unversioned(state)
    for check in state["health_checks"].values():
        check["config"].pop("Inverted", None)
    return state


def record_checks(route53, zone_id, name=NAME):
    """Set identifier -> health check id of the record sets of ``name``."""
    records = route53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=name + ".")["ResourceRecordSets"]
    return {r["SetIdentifier"]: r.get("HealthCheckId") for r in records
            if r["Name"] == name + "." and "SetIdentifier" in r}


def routed_status(sandbox, check_id):
    """The status the sandbox's Route 53 routes on for a check now: Healthy or Unhealthy."""
    return next(c["status"] for c in sandbox.status()["health_checks"] if c["id"] == check_id)


def wait_for_status(sandbox, check_id, status, timeout=WAIT_TIMEOUT):
    """Poll the sandbox until the check's routed status is ``status``; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while routed_status(sandbox, check_id) != status:
        if time.monotonic() > deadline:
            pytest.fail(f"health check {check_id} did not turn {status} within {timeout} s")
        time.sleep(0.05)


def fail_site(sandbox, route53, zone_id, site, routed_then="Unhealthy"):
    """Fail ``site`` and wait until its check of NAME shows ``routed_then`` (the checkers noticed)."""
    sandbox.fail(site)
    wait_for_status(sandbox, record_checks(route53, zone_id)[site], routed_then)


def recover_site(sandbox, route53, zone_id, site, routed_then="Healthy"):
    sandbox.recover(site)
    wait_for_status(sandbox, record_checks(route53, zone_id)[site], routed_then)


def site_args(albs, name, role, interval=10):
    dns_name, alias_zone = albs[name]
    return {"name": name, "role": role, "alias": {"dns_name": dns_name, "hosted_zone_id": alias_zone},
            "health_check": {"fqdn": dns_name, "request_interval": interval, "failure_threshold": 1}}


def sites(albs, interval=10):
    return [site_args(albs, PRIMARY, "primary", interval), site_args(albs, SECONDARY, "secondary", interval)]


def failover_args(albs, **extra):
    args = {"hosted_zone": ZONE, "record_name": NAME, "sites": sites(albs)}
    args.update(extra)
    return args


# Sites named with their role only: the module keeps their current targets and health checks.
NAMED_ONLY = [{"name": PRIMARY, "role": "primary"}, {"name": SECONDARY, "role": "secondary"}]


def failover(albs, **extra):
    return task("route53_failover", failover_args(albs, **extra))


def named_only(**extra):
    return task("route53_failover", dict({"hosted_zone": ZONE, "record_name": NAME, "sites": NAMED_ONLY}, **extra))


def info(name=NAME):
    return task("route53_failover_info", {"hosted_zone": ZONE, "record_name": name})


def check_facts(result, site):
    """The health facts a module result gives for a site, without its id and config."""
    facts = result["health_checks"][site]
    return {key: facts[key] for key in ("inverted", "reported_status", "endpoint_healthy", "route53_status")}


HEALTHY_SERVING = {"inverted": False, "reported_status": "healthy", "endpoint_healthy": True,
                   "route53_status": "healthy"}
HEALTHY_DRAINED = {"inverted": True, "reported_status": "healthy", "endpoint_healthy": True,
                   "route53_status": "unhealthy"}
FAILING = {"inverted": False, "reported_status": "unhealthy", "endpoint_healthy": False,
           "route53_status": "unhealthy"}


# -- bad input: one sentence each, nothing changed ------------------------------------------------


def _set(index, **values):
    return lambda args: args["sites"][index].update(values)


def _weighted(weight):
    def change(args):
        args["routing"] = "weighted"
        for site in args["sites"]:
            site.pop("role")
            site["weight"] = weight
    return change


BAD_INPUTS = [
    ("two primaries", _set(1, role="primary"),
     "routing=failover needs exactly one primary and one secondary site, "
     f"got 2 primaries ({PRIMARY}, {SECONDARY}) and no secondary."),
    ("request_interval", lambda a: a["sites"][0]["health_check"].update(request_interval=20),
     f"site '{PRIMARY}' health_check.request_interval must be 10 or 30, got 20."),
    ("failure_threshold", lambda a: a["sites"][0]["health_check"].update(failure_threshold=11),
     f"site '{PRIMARY}' health_check.failure_threshold must be between 1 and 10, got 11."),
    ("weight with failover", _set(0, weight=5),
     f"site '{PRIMARY}' sets weight, which is only allowed with routing=weighted."),
    ("role with weighted", lambda a: a.update(routing="weighted"),
     f"site '{PRIMARY}' sets role, which is only allowed with routing=failover."),
    ("all weights zero", _weighted(0),
     "routing=weighted needs at least one site with a weight above 0, but all weights are 0."),
    ("weight above 255", _weighted(300), f"site '{PRIMARY}' weight must be between 0 and 255, got 300."),
    ("alias without hosted_zone_id", lambda a: a["sites"][1]["alias"].pop("hosted_zone_id"),
     f"site '{SECONDARY}' alias needs hosted_zone_id (the hosted zone of the alias target)."),
    ("alias and cname", _set(1, cname={"value": "x.example.net"}),
     f"site '{SECONDARY}' must set exactly one of alias or cname."),
    ("duplicate names", _set(1, name=PRIMARY), f"sites names must be unique, but '{PRIMARY}' appears 2 times."),
    ("one site", lambda a: a["sites"].pop(), "sites needs at least 2 entries with routing=failover, got 1."),
    ("active_site unknown", lambda a: a.update(active_site="moon"),
     f"active_site 'moon' is not one of the sites ({PRIMARY}, {SECONDARY})."),
    ("unknown zone", lambda a: a.update(hosted_zone="example.org"),
     "hosted_zone 'example.org' matches no public zone named example.org; "
     "pass an existing zone name with the right private_zone, or the zone id."),
    ("unknown zone id", lambda a: a.update(hosted_zone="ZNOSUCHZONE1"),
     "hosted_zone 'ZNOSUCHZONE1' was not found: no hosted zone has id ZNOSUCHZONE1."),
    ("private zone missing", lambda a: a.update(private_zone=True),
     "hosted_zone 'example.com' matches no private zone named example.com; "
     "pass an existing zone name with the right private_zone, or the zone id."),
    ("record outside zone", lambda a: a.update(record_name="app.example.org"),
     "record_name 'app.example.org' is not inside hosted zone example.com."),
]


@pytest.fixture(scope="module")
def bad_input_runs(run, albs, route53, zone_id):
    """Every bad input, run side by side by one playbook; with the state before and after."""
    cases = []
    for _, change, _ in BAD_INPUTS:
        args = failover_args(albs)
        change(args)
        cases.append(args)
    before = snapshot(route53, zone_id)
    play = run.parallel("route53_failover", cases)
    return {"results": dict(zip([c[0] for c in BAD_INPUTS], play.results)), "writes": play.writes,
            "before": before, "after": snapshot(route53, zone_id)}


@pytest.mark.parametrize("case, sentence", [(c[0], c[2]) for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_fails_with_its_sentence_and_changes_nothing(bad_input_runs, case, sentence):
    result = bad_input_runs["results"][case]
    assert result["failed"] is True
    assert result["msg"] == sentence
    assert bad_input_runs["writes"] == []
    assert bad_input_runs["after"] == bad_input_runs["before"]


# -- create, idempotence, info --------------------------------------------------------------------


def test_check_mode_create_changes_nothing(run, albs, route53, zone_id):
    before = snapshot(route53, zone_id)
    play = run(task("route53_failover", failover_args(albs), check=True, diff=True))
    result = play[0]
    assert result["changed"] is True
    assert result["change_id"] is None
    assert f"created health check of {PRIMARY}" in result["actions"]
    assert [r["set_identifier"] for r in result["records_after"]] == [SECONDARY, PRIMARY]
    assert result["serving_site"] == PRIMARY
    assert result["diff"]["before"]["records"] == []
    assert sorted(result["diff"]["after"]["health_checks"]) == [SECONDARY, PRIMARY]
    assert play.writes == []
    assert snapshot(route53, zone_id) == before


def test_create(run, sandbox, albs, route53, zone_id, memo):
    result = run(failover(albs))[0]
    assert result["changed"] is True
    assert result["change_id"]
    assert result["serving_site"] == PRIMARY
    assert result["serving_shares"] == {PRIMARY: 100.0, SECONDARY: 0.0}
    state = snapshot(route53, zone_id)
    records = {r["SetIdentifier"]: r for r in state["records"] if r["Name"] == NAME + "."}
    assert {s: r["Failover"] for s, r in records.items()} == {PRIMARY: "PRIMARY", SECONDARY: "SECONDARY"}
    for site, (dns_name, alias_zone) in albs.items():
        check_id = result["health_checks"][site]["id"]
        assert records[site]["HealthCheckId"] == check_id
        assert records[site]["AliasTarget"]["DNSName"].rstrip(".") == dns_name
        assert records[site]["AliasTarget"]["HostedZoneId"] == alias_zone
        check = state["health_checks"][check_id]
        assert check["tags"]["eks-ha:site"] == site
        assert check["tags"]["eks-ha:record"] == NAME
        config = check["config"]
        assert (config["Type"], config["Port"], config["ResourcePath"]) == ("HTTP", 80, "/")
        assert config["FullyQualifiedDomainName"] == dns_name
        assert (config["RequestInterval"], config["FailureThreshold"]) == (10, 1)
        # the sandbox ties the check to the site its ALB belongs to, and its probes succeed
        row = next(c for c in sandbox.status()["health_checks"] if c["id"] == check_id)
        assert (row["site"], row["status"]) == (site, "Healthy")
    memo["created"] = state


def test_same_again_is_unchanged_and_writes_nothing(run, albs, route53, zone_id, memo):
    play = run(failover(albs))
    result = play[0]
    assert result["changed"] is False
    assert result["actions"] == []
    assert result["change_id"] is None
    assert check_facts(result, PRIMARY) == HEALTHY_SERVING
    assert check_facts(result, SECONDARY) == HEALTHY_SERVING
    assert play.writes == []
    assert play.calls  # the run did read through the proxy
    assert snapshot(route53, zone_id) == memo["created"]


def test_info_before_move(run):
    result = run(info())[0]
    assert result["changed"] is False
    assert result["routing"] == "failover"
    assert result["serving_site"] == PRIMARY
    assert [(r["site"], r["role"]) for r in result["records"]] == [(PRIMARY, "primary"), (SECONDARY, "secondary")]
    assert check_facts(result, SECONDARY) == HEALTHY_SERVING


# -- planned move and failback --------------------------------------------------------------------


def test_planned_move_check_mode_changes_nothing(run, albs, route53, zone_id):
    before = snapshot(route53, zone_id)
    play = run(task("route53_failover", failover_args(albs, active_site=SECONDARY), check=True))
    assert play[0]["changed"] is True
    assert play[0]["actions"] == [DRAIN_PRIMARY]
    assert play[0]["serving_site"] == SECONDARY
    assert play.writes == []
    assert snapshot(route53, zone_id) == before


def test_planned_move_inverts_the_primary(run, sandbox, albs, route53, zone_id):
    before = snapshot(route53, zone_id)
    play = run(task("route53_failover", failover_args(albs, active_site=SECONDARY), diff=True), info())
    result, seen = play.results
    assert result["changed"] is True
    assert result["actions"] == [DRAIN_PRIMARY]
    assert result["serving_site"] == SECONDARY
    assert result["serving_shares"] == {PRIMARY: 0.0, SECONDARY: 100.0}
    assert check_facts(result, PRIMARY) == HEALTHY_DRAINED
    assert check_facts(result, SECONDARY) == HEALTHY_SERVING
    # the flip is the inversion: one UpdateHealthCheck, the records stay as they are
    primary_check = result["health_checks"][PRIMARY]["id"]
    assert result["change_id"] is None
    assert play.writes == [("POST", f"/2013-04-01/healthcheck/{primary_check}")]
    after = snapshot(route53, zone_id)
    assert after["records"] == before["records"]
    assert after["health_checks"][primary_check]["config"]["Inverted"] is True
    assert result["diff"]["after"]["health_checks"][PRIMARY]["Inverted"] is True
    assert routed_status(sandbox, primary_check) == "Unhealthy"
    # info sees the inversion, and that the endpoint behind it is still healthy
    assert check_facts(seen, PRIMARY) == HEALTHY_DRAINED
    assert seen["serving_site"] == SECONDARY


def test_same_move_again_is_unchanged(run, albs, route53, zone_id):
    before = snapshot(route53, zone_id)
    play = run(failover(albs, active_site=SECONDARY))
    result = play[0]
    assert result["changed"] is False
    assert result["actions"] == [KEEP_PRIMARY_DRAINED]
    assert result["change_id"] is None
    assert result["serving_site"] == SECONDARY
    assert check_facts(result, PRIMARY) == HEALTHY_DRAINED
    assert play.writes == []
    assert snapshot(route53, zone_id) == before


def test_back_without_active_site_restores_the_created_state(run, albs, route53, zone_id, memo):
    play = run(failover(albs), failover(albs), info())
    back, again, seen = play.results
    assert back["changed"] is True
    assert back["actions"] == [UNDRAIN_PRIMARY]
    # measured before the change: the drained primary's endpoint was healthy all along
    assert back["health_checks"][PRIMARY]["endpoint_healthy"] is True
    assert check_facts(back, PRIMARY) == HEALTHY_SERVING
    assert back["serving_site"] == PRIMARY
    assert again["changed"] is False and again["actions"] == []
    assert seen["serving_site"] == PRIMARY
    assert unversioned(snapshot(route53, zone_id)) == unversioned(memo["created"])


def test_move_and_back_with_sites_named_only_keep_targets_and_checks(run, route53, zone_id, memo):
    before = snapshot(route53, zone_id)
    checks = record_checks(route53, zone_id)
    unknown = [NAMED_ONLY[0], {"name": "moon", "role": "secondary"}]
    play = run(task("route53_failover", {"hosted_zone": ZONE, "record_name": NAME, "sites": unknown}),
               named_only(active_site=SECONDARY))
    refused, moved = play.results
    assert refused["failed"] is True
    assert refused["msg"] == ("site 'moon' gives neither alias nor cname, and the name has no record of that "
                              "site to keep; give its target.")
    assert moved["changed"] is True
    assert moved["actions"] == [DRAIN_PRIMARY]
    assert moved["serving_site"] == SECONDARY
    assert {site: facts["id"] for site, facts in moved["health_checks"].items()} == checks
    assert check_facts(moved, PRIMARY) == HEALTHY_DRAINED
    # the only write of both tasks is the inversion of the primary's check
    assert play.writes == [("POST", f"/2013-04-01/healthcheck/{checks[PRIMARY]}")]
    after = snapshot(route53, zone_id)
    assert after["records"] == before["records"]
    assert apart_from_inverted(after) == apart_from_inverted(before)
    assert after["health_checks"][checks[PRIMARY]]["config"]["Inverted"] is True
    assert after["health_checks"][checks[SECONDARY]]["config"]["Inverted"] is False

    back = run(named_only())[0]
    assert back["changed"] is True
    assert back["actions"] == [UNDRAIN_PRIMARY]
    assert back["serving_site"] == PRIMARY
    assert unversioned(snapshot(route53, zone_id)) == unversioned(memo["created"])


# -- never make a failing site look healthy ---------------------------------------------------------


def test_move_away_from_a_failed_primary_does_not_invert_it(run, sandbox, albs, route53, zone_id):
    checks = record_checks(route53, zone_id)
    fail_site(sandbox, route53, zone_id, PRIMARY)
    before = snapshot(route53, zone_id)
    play = run(failover(albs, active_site=SECONDARY))
    result = play[0]
    assert result["actions"] == [f"left {PRIMARY} un-inverted: its endpoint is failing, so it is already drained"]
    assert result["changed"] is False
    assert check_facts(result, PRIMARY) == FAILING
    assert check_facts(result, SECONDARY) == HEALTHY_SERVING
    assert result["serving_site"] == SECONDARY
    assert play.writes == []
    assert snapshot(route53, zone_id) == before
    assert routed_status(sandbox, checks[PRIMARY]) == "Unhealthy"
    recover_site(sandbox, route53, zone_id, PRIMARY)


# -- refused move to a failed site, and force ------------------------------------------------------


def test_refuses_move_to_a_failed_site_without_force(run, sandbox, albs, route53, zone_id):
    fail_site(sandbox, route53, zone_id, SECONDARY)
    before = snapshot(route53, zone_id)
    play = run(failover(albs, active_site=SECONDARY))
    assert play[0]["failed"] is True
    assert play[0]["msg"] == (f"active_site '{SECONDARY}' is unhealthy (its endpoint fails its health check); "
                              "repair it first or set force=true to move traffic to it anyway.")
    assert play.writes == []
    assert snapshot(route53, zone_id) == before


def test_force_moves_to_a_failed_site(run, sandbox, albs, route53, zone_id):
    checks = record_checks(route53, zone_id)
    play = run(failover(albs, active_site=SECONDARY, force=True), info())
    result, seen = play.results
    assert result["changed"] is True
    assert result["actions"] == [
        f"moving to {SECONDARY} although its endpoint is unhealthy, because force=true",
        f"Route 53 will still answer with {PRIMARY}: {SECONDARY} does not look healthy to Route 53 "
        f"and {PRIMARY} could not be drained further",
        DRAIN_PRIMARY,
    ]
    assert check_facts(result, PRIMARY) == HEALTHY_DRAINED
    assert check_facts(result, SECONDARY) == FAILING
    # both look unhealthy, so Route 53 answers with the primary until the secondary recovers
    assert result["serving_site"] == PRIMARY
    assert play.writes == [("POST", f"/2013-04-01/healthcheck/{checks[PRIMARY]}")]
    assert seen["serving_site"] == PRIMARY

    recover_site(sandbox, route53, zone_id, SECONDARY)
    assert run(info())[0]["serving_site"] == SECONDARY


def test_drained_primary_that_fails_is_un_inverted(run, sandbox, albs, route53, zone_id):
    checks = record_checks(route53, zone_id)
    # drained (inverted) while healthy, then failing: inverted, it now looks healthy to Route 53
    fail_site(sandbox, route53, zone_id, PRIMARY, routed_then="Healthy")
    play = run(failover(albs, active_site=SECONDARY), info())
    result, seen = play.results
    assert result["changed"] is True
    assert result["actions"] == [
        f"un-inverted health check of {PRIMARY}: its endpoint is failing, so it is already drained "
        "and inverting would send traffic back to it"
    ]
    assert check_facts(result, PRIMARY) == FAILING
    assert result["serving_site"] == SECONDARY
    assert play.writes == [("POST", f"/2013-04-01/healthcheck/{checks[PRIMARY]}")]
    assert routed_status(sandbox, checks[PRIMARY]) == "Unhealthy"
    assert check_facts(seen, PRIMARY) == FAILING
    assert seen["serving_site"] == SECONDARY
    recover_site(sandbox, route53, zone_id, PRIMARY)


# -- recreate, weighted, absent ---------------------------------------------------------------------


def test_recreates_when_request_interval_changes(run, albs, route53, zone_id):
    old = record_checks(route53, zone_id)
    play = run(failover(albs, sites=sites(albs, interval=30)), failover(albs, sites=sites(albs, interval=30)))
    result, again = play.results
    assert result["changed"] is True
    for site in (PRIMARY, SECONDARY):
        assert (f"recreated health check of {site}, because RequestInterval 10 -> 30 cannot be changed in place"
                in result["actions"])
    new = {site: facts["id"] for site, facts in result["health_checks"].items()}
    assert not set(new.values()) & set(old.values())
    state = snapshot(route53, zone_id)
    assert not set(old.values()) & set(state["health_checks"])
    assert record_checks(route53, zone_id) == new
    assert {state["health_checks"][i]["config"]["RequestInterval"] for i in new.values()} == {30}
    assert not any(state["health_checks"][i]["config"]["Inverted"] for i in new.values())
    assert result["serving_site"] == PRIMARY
    assert again["changed"] is False


# The weighted name uses the same set identifiers as the failover name: deleting one name's records must
# leave the other's alone (see test_absent_check_mode_then_absent).
OP, LZ = PRIMARY, SECONDARY


def weighted_args(albs, **extra):
    args = {
        "hosted_zone": ZONE,
        "record_name": WEIGHTED_NAME,
        "routing": "weighted",
        "sites": [
            {"name": OP, "weight": 200, "cname": {"value": albs[PRIMARY][0]},
             "health_check": {"type": "TCP", "port": 80, "request_interval": 10, "failure_threshold": 1}},
            {"name": LZ, "weight": 55, "cname": {"value": albs[SECONDARY][0], "ttl": 30}, "health_check": {}},
        ],
    }
    args.update(extra)
    return args


def test_weighted_create_move_and_back(run, albs):
    weighted = task("route53_failover", weighted_args(albs))
    play = run(weighted, weighted, task("route53_failover", weighted_args(albs, active_site=LZ)), weighted, info())
    created, again, moved, back, seen = play.results
    assert created["changed"] is True and created["record_type"] == "CNAME"
    assert created["serving_shares"] == {OP: 78.43, LZ: 21.57}
    assert created["serving_site"] == OP
    assert again["changed"] is False and again["actions"] == []

    assert moved["changed"] is True and moved["change_id"]
    assert moved["serving_shares"] == {OP: 0.0, LZ: 100.0}
    assert moved["serving_site"] == LZ
    assert {r["set_identifier"]: r["weight"] for r in moved["records_after"]} == {OP: 0, LZ: 200}
    assert not any(h["inverted"] for h in moved["health_checks"].values())
    assert all(h["endpoint_healthy"] is True for h in moved["health_checks"].values())

    assert back["changed"] is True
    assert {r["set_identifier"]: r["weight"] for r in back["records_after"]} == {OP: 200, LZ: 55}
    assert back["serving_site"] == OP
    # the failover name is untouched by the weighted one
    assert seen["routing"] == "failover"
    assert seen["serving_site"] == PRIMARY


def test_absent_check_mode_then_absent(run, albs, sandbox, route53, zone_id):
    before = snapshot(route53, zone_id)
    planned = run(task("route53_failover", failover_args(albs, state="absent"), check=True))
    assert planned[0]["changed"] is True
    assert planned.writes == []
    assert snapshot(route53, zone_id) == before

    absent = {"hosted_zone": ZONE, "record_name": NAME, "state": "absent"}
    play = run(task("route53_failover", absent), task("route53_failover", absent), info())
    result, again, seen = play.results
    assert result["changed"] is True
    state = snapshot(route53, zone_id)
    assert not [r for r in state["records"] if r["Name"] == NAME + "."]
    assert not [c for c in state["health_checks"].values() if c["tags"].get("eks-ha:record") == NAME]
    assert {c["id"] for c in sandbox.status()["health_checks"]} == set(state["health_checks"])
    # the weighted name, with the same set identifiers, is still there
    assert {r["SetIdentifier"] for r in state["records"] if r["Name"] == WEIGHTED_NAME + "."} == {OP, LZ}
    assert again["changed"] is False
    assert seen["serving_site"] is None
