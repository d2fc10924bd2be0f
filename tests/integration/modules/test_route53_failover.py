"""route53_failover and route53_failover_info run by Ansible against a moto server.

Plain moto reports every health check observation as Success, so an inverted check reads as an endpoint
that is failing (reported XOR inverted); the assertions below follow from that.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
ZONE = "example.com"
NAME = "app.example.com"
ELB_ZONE = "Z1H1FL5HABSF5"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="module")
def route53(moto_endpoint):
    return boto3.client("route53", region_name="us-east-1", endpoint_url=moto_endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture(scope="module")
def zone_id(route53):
    return route53.create_hosted_zone(Name=ZONE, CallerReference="it-zone")["HostedZone"]["Id"].split("/")[-1]


@pytest.fixture(scope="module")
def run(moto_endpoint, tmp_path_factory):
    """Run one module task with ansible-playbook from the checkout and return its registered result."""
    workdir = tmp_path_factory.mktemp("route53_failover")
    counter = iter(range(1000))

    def _run(module, args, check=False, diff=False):
        index = next(counter)
        result_file = workdir / f"result{index}.json"
        task_args = dict(args, endpoint_url=moto_endpoint, access_key="testing", secret_key="testing")
        playbook = workdir / f"play{index}.yml"
        playbook.write_text(json.dumps([{
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {"name": "module under test", f"eks_ha.resilience.{module}": task_args,
                 "register": "result", "ignore_errors": True},
                {"name": "save result", "ansible.builtin.copy": {"content": "{{ result | to_json }}",
                                                                 "dest": str(result_file)},
                 "check_mode": False, "diff": False},
            ],
        }]))
        command = [str(Path(sys.executable).with_name("ansible-playbook")), str(playbook)]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        # Only the modules are under test: keep ansible.cfg but not the extra callbacks it enables.
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default")
        env.pop("AWS_REGION", None)
        env.pop("AWS_DEFAULT_REGION", None)
        completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        assert result_file.exists(), completed.stdout + completed.stderr
        return json.loads(result_file.read_text())

    return _run


def snapshot(route53, zone_id):
    """Every record set of the zone and every health check (config and tags)."""
    records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    records = sorted((r for r in records if r["Type"] not in ("SOA", "NS")),
                     key=lambda r: (r["Name"], r["Type"], r.get("SetIdentifier", "")))
    checks = {}
    for check in route53.list_health_checks()["HealthChecks"]:
        tags = route53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=check["Id"])
        checks[check["Id"]] = {"config": check["HealthCheckConfig"],
                               "tags": {t["Key"]: t["Value"] for t in tags["ResourceTagSet"]["Tags"]}}
    return {"records": records, "health_checks": checks}


def sites(interval=30):
    return [
        {"name": "outposts", "role": "primary",
         "alias": {"dns_name": "op-alb.us-west-2.elb.amazonaws.com", "hosted_zone_id": ELB_ZONE},
         "health_check": {"type": "HTTPS", "path": "/healthz", "request_interval": interval}},
        {"name": "region", "role": "secondary",
         "alias": {"dns_name": "region-alb.us-west-2.elb.amazonaws.com", "hosted_zone_id": ELB_ZONE},
         "health_check": {"path": "/healthz"}},
    ]


def failover_args(**extra):
    args = {"hosted_zone": ZONE, "record_name": NAME, "sites": sites()}
    args.update(extra)
    return args


def info(run):
    return run("route53_failover_info", {"hosted_zone": ZONE, "record_name": NAME})


def with_sites(change):
    chosen = sites()
    change(chosen)
    return chosen


BAD_INPUTS = [
    ("two primaries", failover_args(sites=with_sites(lambda s: s[1].update(role="primary"))),
     "routing=failover needs exactly one primary and one secondary site, "
     "got 2 primaries (outposts, region) and no secondary."),
    ("request_interval", failover_args(sites=with_sites(lambda s: s[0]["health_check"].update(request_interval=20))),
     "site 'outposts' health_check.request_interval must be 10 or 30, got 20."),
    ("failure_threshold", failover_args(sites=with_sites(lambda s: s[0]["health_check"].update(failure_threshold=11))),
     "site 'outposts' health_check.failure_threshold must be between 1 and 10, got 11."),
    ("weight with failover", failover_args(sites=with_sites(lambda s: s[0].update(weight=5))),
     "site 'outposts' sets weight, which is only allowed with routing=weighted."),
    ("role with weighted", failover_args(routing="weighted"),
     "site 'outposts' sets role, which is only allowed with routing=failover."),
    ("all weights zero", failover_args(routing="weighted", sites=with_sites(
        lambda s: [(x.pop("role"), x.update(weight=0)) for x in s])),
     "routing=weighted needs at least one site with a weight above 0, but all weights are 0."),
    ("weight above 255", failover_args(routing="weighted", sites=with_sites(
        lambda s: [(x.pop("role"), x.update(weight=300)) for x in s])),
     "site 'outposts' weight must be between 0 and 255, got 300."),
    ("alias without hosted_zone_id", failover_args(sites=with_sites(lambda s: s[1]["alias"].pop("hosted_zone_id"))),
     "site 'region' alias needs hosted_zone_id (the hosted zone of the alias target)."),
    ("alias and cname", failover_args(sites=with_sites(lambda s: s[1].update(cname={"value": "x.example.net"}))),
     "site 'region' must set exactly one of alias or cname."),
    ("duplicate names", failover_args(sites=with_sites(lambda s: s[1].update(name="outposts"))),
     "sites names must be unique, but 'outposts' appears 2 times."),
    ("one site", failover_args(sites=sites()[:1]), "sites needs at least 2 entries, got 1."),
    ("active_site unknown", failover_args(active_site="moon"),
     "active_site 'moon' is not one of the sites (outposts, region)."),
    ("unknown zone", failover_args(hosted_zone="example.org"),
     "hosted_zone 'example.org' matches no public zone named example.org; "
     "pass an existing zone name with the right private_zone, or the zone id."),
    ("unknown zone id", failover_args(hosted_zone="ZNOSUCHZONE1"),
     "hosted_zone 'ZNOSUCHZONE1' was not found: no hosted zone has id ZNOSUCHZONE1."),
    ("private zone missing", failover_args(private_zone=True),
     "hosted_zone 'example.com' matches no private zone named example.com; "
     "pass an existing zone name with the right private_zone, or the zone id."),
    ("record outside zone", failover_args(record_name="app.example.org"),
     "record_name 'app.example.org' is not inside hosted zone example.com."),
]


@pytest.mark.parametrize("args, sentence", [c[1:] for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_fails_with_its_sentence_and_changes_nothing(run, route53, zone_id, args, sentence):
    before = snapshot(route53, zone_id)
    result = run("route53_failover", args)
    assert result["failed"] is True
    assert result["msg"] == sentence
    assert snapshot(route53, zone_id) == before


def test_check_mode_create_changes_nothing(run, route53, zone_id):
    before = snapshot(route53, zone_id)
    result = run("route53_failover", failover_args(), check=True, diff=True)
    assert result["changed"] is True
    assert result["change_id"] is None
    assert "created health check of outposts" in result["actions"]
    assert [r["set_identifier"] for r in result["records_after"]] == ["outposts", "region"]
    assert result["serving_site"] == "outposts"
    assert result["diff"]["before"]["records"] == []
    assert sorted(result["diff"]["after"]["health_checks"]) == ["outposts", "region"]
    assert snapshot(route53, zone_id) == before


def test_create(run, route53, zone_id):
    result = run("route53_failover", failover_args())
    assert result["changed"] is True
    assert result["change_id"]
    assert result["serving_site"] == "outposts"
    assert result["serving_shares"] == {"outposts": 100.0, "region": 0.0}
    state = snapshot(route53, zone_id)
    records = {r["SetIdentifier"]: r for r in state["records"]}
    assert {r["Failover"] for r in records.values()} == {"PRIMARY", "SECONDARY"}
    for site in ("outposts", "region"):
        check_id = result["health_checks"][site]["id"]
        assert records[site]["HealthCheckId"] == check_id
        assert state["health_checks"][check_id]["tags"]["eks-ha:site"] == site
        assert state["health_checks"][check_id]["tags"]["eks-ha:record"] == NAME
    outposts = state["health_checks"][result["health_checks"]["outposts"]["id"]]["config"]
    assert (outposts["Type"], outposts["Port"], outposts["ResourcePath"]) == ("HTTPS", 443, "/healthz")


def test_same_again_is_unchanged(run, route53, zone_id):
    before = snapshot(route53, zone_id)
    result = run("route53_failover", failover_args())
    assert result["changed"] is False
    assert result["actions"] == []
    assert result["change_id"] is None
    assert result["health_checks"]["outposts"]["reported_status"] == "healthy"
    assert result["health_checks"]["outposts"]["endpoint_healthy"] is True
    assert snapshot(route53, zone_id) == before


def test_info_before_move(run):
    result = info(run)
    assert result["changed"] is False
    assert result["routing"] == "failover"
    assert result["serving_site"] == "outposts"
    assert [(r["site"], r["role"]) for r in result["records"]] == [("outposts", "primary"), ("region", "secondary")]
    assert result["health_checks"]["region"]["endpoint_healthy"] is True


def test_planned_move_check_mode_changes_nothing(run, route53, zone_id):
    before = snapshot(route53, zone_id)
    result = run("route53_failover", failover_args(active_site="region"), check=True)
    assert result["changed"] is True
    assert result["serving_site"] == "region"
    assert snapshot(route53, zone_id) == before


def test_planned_move_inverts_the_primary(run, route53, zone_id):
    before = snapshot(route53, zone_id)
    result = run("route53_failover", failover_args(active_site="region"), diff=True)
    assert result["changed"] is True
    assert result["actions"] == ["inverted health check of outposts to drain it (endpoint healthy)"]
    assert result["serving_site"] == "region"
    assert result["health_checks"]["outposts"]["inverted"] is True
    assert result["health_checks"]["region"]["inverted"] is False
    # the flip is the inversion; the records stay as they are
    assert result["change_id"] is None
    after = snapshot(route53, zone_id)
    assert after["records"] == before["records"]
    assert after["health_checks"][result["health_checks"]["outposts"]["id"]]["config"]["Inverted"] is True
    assert result["diff"]["after"]["health_checks"]["outposts"]["Inverted"] is True


def test_info_sees_the_inversion(run):
    result = info(run)
    assert result["health_checks"]["outposts"]["inverted"] is True
    # moto still reports Success for the inverted check, which reads as a failing endpoint
    assert result["health_checks"]["outposts"]["endpoint_healthy"] is False


def test_back_without_active_site(run, route53, zone_id):
    result = run("route53_failover", failover_args())
    assert result["changed"] is True
    assert len(result["actions"]) == 1 and result["actions"][0].startswith("un-inverted health check of outposts")
    assert result["health_checks"]["outposts"]["inverted"] is False
    # measured before the change, moto's Success on the inverted check read as a failing endpoint
    assert result["health_checks"]["outposts"]["endpoint_healthy"] is False
    assert result["serving_site"] == "region"
    state = snapshot(route53, zone_id)
    assert not any(c["config"]["Inverted"] for c in state["health_checks"].values())
    again = run("route53_failover", failover_args())
    assert again["changed"] is False
    assert again["serving_site"] == "outposts"
    assert info(run)["serving_site"] == "outposts"


def test_refuses_move_to_unknown_health_without_force(run, route53, zone_id):
    # a new endpoint for region makes its last status meaningless
    changed_sites = with_sites(lambda s: s[1]["health_check"].update(port=8443))
    before = snapshot(route53, zone_id)
    result = run("route53_failover", failover_args(sites=changed_sites, active_site="region"))
    assert result["failed"] is True
    assert result["msg"].startswith("active_site 'region' has no current health check result")
    assert snapshot(route53, zone_id) == before


def test_recreates_when_request_interval_changes(run, route53, zone_id):
    old_id = info(run)["health_checks"]["outposts"]["id"]
    result = run("route53_failover", failover_args(sites=sites(interval=10)))
    assert result["changed"] is True
    assert any(a.startswith("recreated health check of outposts, because RequestInterval 30 -> 10") for a in result["actions"])
    new_id = result["health_checks"]["outposts"]["id"]
    assert new_id != old_id
    state = snapshot(route53, zone_id)
    assert old_id not in state["health_checks"]
    assert {r["SetIdentifier"]: r["HealthCheckId"] for r in state["records"]}["outposts"] == new_id
    assert run("route53_failover", failover_args(sites=sites(interval=10)))["changed"] is False


WEIGHTED = {
    "hosted_zone": ZONE,
    "record_name": "api.example.com",
    "routing": "weighted",
    "sites": [
        {"name": "lz", "weight": 200, "cname": {"value": "lz.api.example.net"},
         "health_check": {"type": "TCP", "port": 443}},
        {"name": "region", "weight": 55, "cname": {"value": "region.api.example.net", "ttl": 30}, "health_check": {}},
    ],
}


def test_weighted_create_move_and_back(run, route53, zone_id):
    created = run("route53_failover", WEIGHTED)
    assert created["changed"] is True and created["record_type"] == "CNAME"
    assert created["serving_shares"] == {"lz": 78.43, "region": 21.57}
    assert run("route53_failover", WEIGHTED)["changed"] is False

    moved = run("route53_failover", dict(WEIGHTED, active_site="region"))
    assert moved["changed"] is True and moved["change_id"]
    assert moved["serving_shares"] == {"lz": 0.0, "region": 100.0}
    assert moved["serving_site"] == "region"
    weights = {r["set_identifier"]: r["weight"] for r in moved["records_after"]}
    assert weights == {"lz": 0, "region": 200}
    assert not any(h["inverted"] for h in moved["health_checks"].values())

    back = run("route53_failover", WEIGHTED)
    assert back["changed"] is True
    assert {r["set_identifier"]: r["weight"] for r in back["records_after"]} == {"lz": 200, "region": 55}
    # the failover name is untouched by the weighted one
    assert info(run)["routing"] == "failover"


def test_absent_check_mode_then_absent(run, route53, zone_id):
    before = snapshot(route53, zone_id)
    planned = run("route53_failover", failover_args(state="absent"), check=True)
    assert planned["changed"] is True
    assert snapshot(route53, zone_id) == before

    result = run("route53_failover", {"hosted_zone": ZONE, "record_name": NAME, "state": "absent"})
    assert result["changed"] is True
    state = snapshot(route53, zone_id)
    assert not [r for r in state["records"] if r["Name"] == NAME + "."]
    assert not [c for c in state["health_checks"].values() if c["tags"].get("eks-ha:record") == NAME]
    # the weighted name is still there
    assert [r for r in state["records"] if r["Name"] == "api.example.com."]
    assert run("route53_failover", {"hosted_zone": ZONE, "record_name": NAME, "state": "absent"})["changed"] is False
    assert info(run)["serving_site"] is None
