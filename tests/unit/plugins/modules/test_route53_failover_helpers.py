"""The pure helpers of the route53_failover and route53_failover_info modules."""

import pytest

from ansible_collections.eks_ha.resilience.plugins.modules.route53_failover import health_check_sentence
from ansible_collections.eks_ha.resilience.plugins.modules.route53_failover import plan_health_checks
from ansible_collections.eks_ha.resilience.plugins.modules.route53_failover import routed_records
from ansible_collections.eks_ha.resilience.plugins.modules.route53_failover import snake_records
from ansible_collections.eks_ha.resilience.plugins.modules.route53_failover_info import describe_record
from ansible_collections.eks_ha.resilience.plugins.modules.route53_failover_info import pick_record_type
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import desired_health_check_config

SITES = [
    {"name": "outposts", "alias": {"dns_name": "op.example.net", "hosted_zone_id": "Z1"}, "cname": None,
     "health_check": {"type": "HTTP"}},
    {"name": "region", "alias": {"dns_name": "rg.example.net", "hosted_zone_id": "Z1"}, "cname": None,
     "health_check": {"type": "HTTP", "request_interval": 10}},
    {"name": "edge", "alias": {"dns_name": "ed.example.net", "hosted_zone_id": "Z1"}, "cname": None,
     "health_check": None},
]


def existing(site, **overrides):
    config = dict(desired_health_check_config(site), EnableSNI=False, MeasureLatency=False)
    config.update(overrides)
    return {"Id": f"hc-{site['name']}", "HealthCheckVersion": 1, "HealthCheckConfig": config}


def test_plan_health_checks():
    kept = {"outposts": existing(SITES[0]), "region": existing(SITES[1], RequestInterval=30)}
    plans = plan_health_checks(SITES, kept, {"outposts": True, "region": False, "edge": False})
    assert sorted(plans) == ["outposts", "region"]
    assert plans["outposts"]["action"] == "update"
    assert plans["outposts"]["changes"] == {"Inverted": True}
    assert plans["region"]["action"] == "recreate"

    plans = plan_health_checks(SITES, {}, {"outposts": False, "region": False, "edge": False})
    assert {n: p["action"] for n, p in plans.items()} == {"outposts": "create", "region": "create"}


@pytest.mark.parametrize(
    "plan, sentence",
    [
        ({"action": "create", "reasons": []}, "created health check of outposts"),
        ({"action": "recreate", "reasons": ["RequestInterval 30 -> 10"]},
         "recreated health check of outposts, because RequestInterval 30 -> 10 cannot be changed in place"),
        ({"action": "update", "reasons": ["Port 80 -> 8080", "Inverted False -> True"]},
         "updated health check of outposts (Port 80 -> 8080)"),
        # an inversion alone is explained by the drain sentence
        ({"action": "update", "reasons": ["Inverted False -> True"]}, None),
        ({"action": "none", "reasons": []}, None),
    ],
)
def test_health_check_sentence(plan, sentence):
    assert health_check_sentence("outposts", plan) == sentence


def test_routed_and_snake_records():
    records = [
        {"Name": "app.example.com.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]},
        {"Name": "app.example.com.", "Type": "A", "SetIdentifier": "outposts", "Failover": "PRIMARY",
         "AliasTarget": {"HostedZoneId": "Z1", "DNSName": "op.example.net.", "EvaluateTargetHealth": True},
         "HealthCheckId": "hc-1"},
    ]
    assert routed_records(records) == records[1:]
    assert snake_records(records[1:]) == [{
        "name": "app.example.com.", "type": "A", "set_identifier": "outposts", "failover": "PRIMARY",
        "alias_target": {"hosted_zone_id": "Z1", "dns_name": "op.example.net.", "evaluate_target_health": True},
        "health_check_id": "hc-1",
    }]


def test_describe_record():
    alias = {"Name": "app.example.com.", "Type": "A", "SetIdentifier": "outposts", "Failover": "PRIMARY",
             "AliasTarget": {"HostedZoneId": "Z1", "DNSName": "op.example.net.", "EvaluateTargetHealth": True},
             "HealthCheckId": "hc-1"}
    cname = {"Name": "app.example.com.", "Type": "CNAME", "SetIdentifier": "lz", "Weight": 10, "TTL": 60,
             "ResourceRecords": [{"Value": "lz.example.net"}]}
    assert describe_record(alias) == {
        "site": "outposts", "type": "A", "role": "primary", "weight": None, "alias": True,
        "target": "op.example.net", "evaluate_target_health": True, "ttl": None, "health_check_id": "hc-1",
    }
    assert describe_record(cname) == {
        "site": "lz", "type": "CNAME", "role": None, "weight": 10, "alias": False,
        "target": "lz.example.net", "evaluate_target_health": None, "ttl": 60, "health_check_id": None,
    }


@pytest.mark.parametrize(
    "types, wanted, expected",
    [(["CNAME", "AAAA", "A"], None, "A"), (["AAAA", "CNAME"], None, "AAAA"), ([], None, None), (["A"], "AAAA", "AAAA")],
)
def test_pick_record_type(types, wanted, expected):
    assert pick_record_type([{"Type": t} for t in types], wanted) == expected
