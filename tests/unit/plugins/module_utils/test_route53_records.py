"""Desired record sets and the one change batch that makes the name match them."""

import pytest

from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import apply_record_changes
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import desired_record
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import plan_record_changes
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import record_change_sentences
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import records_equal

OUTPOSTS = {
    "name": "outposts",
    "role": "primary",
    "weight": None,
    "alias": {"dns_name": "op-alb.elb.amazonaws.com", "hosted_zone_id": "Z1H1FL5HABSF5", "evaluate_target_health": True},
    "cname": None,
}
REGION = {
    "name": "region",
    "role": "secondary",
    "weight": None,
    "alias": {"dns_name": "region-alb.elb.amazonaws.com", "hosted_zone_id": "Z1H1FL5HABSF5",
              "evaluate_target_health": False},
    "cname": None,
}
LZ = {"name": "lz", "role": None, "weight": 10, "alias": None, "cname": {"value": "lz.example.net", "ttl": 30}}


def test_desired_failover_alias_record():
    assert desired_record(OUTPOSTS, "App.example.com", "A", "failover", health_check_id="hc-1") == {
        "Name": "app.example.com.",
        "Type": "A",
        "SetIdentifier": "outposts",
        "Failover": "PRIMARY",
        "AliasTarget": {"HostedZoneId": "Z1H1FL5HABSF5", "DNSName": "op-alb.elb.amazonaws.com.",
                        "EvaluateTargetHealth": True},
        "HealthCheckId": "hc-1",
    }


def test_desired_weighted_cname_record_with_weight_override():
    record = desired_record(LZ, "app.example.com.", "CNAME", "weighted", weight=0)
    assert record == {
        "Name": "app.example.com.",
        "Type": "CNAME",
        "SetIdentifier": "lz",
        "Weight": 0,
        "TTL": 30,
        "ResourceRecords": [{"Value": "lz.example.net"}],
    }


def test_desired_record_defaults():
    lz = dict(LZ, cname={"value": "lz.example.net", "ttl": None})
    assert desired_record(lz, "app.example.com", "CNAME", "weighted")["TTL"] == 60
    assert desired_record(lz, "app.example.com", "CNAME", "weighted")["Weight"] == 10
    alias = dict(OUTPOSTS, alias={"dns_name": "x.example.net", "hosted_zone_id": "Z1"})
    assert desired_record(alias, "app.example.com", "A", "failover")["AliasTarget"]["EvaluateTargetHealth"] is True


def as_listed(record):
    """The record as ListResourceRecordSets returns it (weights can come back as strings in some clients)."""
    listed = dict(record)
    if "Weight" in listed:
        listed["Weight"] = int(listed["Weight"])
    return listed


@pytest.mark.parametrize(
    "change, equal",
    [
        (lambda r: None, True),
        (lambda r: r["AliasTarget"].update(DNSName="OP-ALB.elb.amazonaws.com"), True),
        (lambda r: r.update(Name="APP.example.com"), True),
        (lambda r: r.update(HealthCheckId="hc-2"), False),
        (lambda r: r.pop("HealthCheckId"), False),
        (lambda r: r.update(Failover="SECONDARY"), False),
        (lambda r: r["AliasTarget"].update(EvaluateTargetHealth=False), False),
        (lambda r: r["AliasTarget"].update(HostedZoneId="Z2"), False),
    ],
)
def test_records_equal(change, equal):
    desired = desired_record(OUTPOSTS, "app.example.com", "A", "failover", health_check_id="hc-1")
    existing = desired_record(OUTPOSTS, "app.example.com", "A", "failover", health_check_id="hc-1")
    change(existing)
    assert records_equal(existing, desired) is equal


def test_records_equal_cname_values_and_weight_types():
    desired = desired_record(LZ, "app.example.com", "CNAME", "weighted")
    existing = dict(desired, Weight="10", ResourceRecords=[{"Value": "LZ.example.net."}])
    assert records_equal(existing, desired)
    assert not records_equal(dict(desired, TTL=300), desired)


def desired_pair(weight_outposts=None, check="hc-1"):
    return [
        desired_record(OUTPOSTS, "app.example.com", "A", "failover", health_check_id=check),
        desired_record(REGION, "app.example.com", "A", "failover", health_check_id="hc-2"),
    ]


def test_plan_creates_everything_on_empty_zone():
    changes = plan_record_changes([], desired_pair())
    assert [(c["Action"], c["ResourceRecordSet"]["SetIdentifier"]) for c in changes] == [
        ("UPSERT", "outposts"),
        ("UPSERT", "region"),
    ]


def test_plan_is_empty_when_equal():
    existing = [as_listed(r) for r in desired_pair()]
    assert plan_record_changes(existing, desired_pair()) == []


def test_plan_upserts_only_what_differs():
    existing = [as_listed(r) for r in desired_pair(check="hc-old")]
    changes = plan_record_changes(existing, desired_pair())
    assert [(c["Action"], c["ResourceRecordSet"]["SetIdentifier"]) for c in changes] == [("UPSERT", "outposts")]


def test_plan_deletes_stale_set_identifiers_and_simple_records_in_the_same_batch():
    stale = desired_record(dict(REGION, name="old-region"), "app.example.com", "A", "failover")
    simple = {"Name": "app.example.com.", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.1"}]}
    existing = [as_listed(r) for r in desired_pair()] + [stale, simple]
    changes = plan_record_changes(existing, desired_pair())
    assert changes == [
        {"Action": "DELETE", "ResourceRecordSet": stale},
        {"Action": "DELETE", "ResourceRecordSet": simple},
    ]


def test_apply_record_changes_gives_the_planned_state():
    existing = [as_listed(r) for r in desired_pair(check="hc-old")]
    existing.append(desired_record(dict(REGION, name="zzz"), "app.example.com", "A", "failover"))
    changes = plan_record_changes(existing, desired_pair())
    after = apply_record_changes(existing, changes)
    assert plan_record_changes(after, desired_pair()) == []
    assert [r["SetIdentifier"] for r in after] == ["outposts", "region"]


def test_record_change_sentences():
    old = desired_record(dict(LZ, name="old"), "app.example.com", "CNAME", "weighted")
    existing = [desired_record(LZ, "app.example.com", "CNAME", "weighted"), old]
    desired = [desired_record(LZ, "app.example.com", "CNAME", "weighted", weight=0, health_check_id="hc-9"),
               desired_record(dict(LZ, name="new"), "app.example.com", "CNAME", "weighted")]
    sentences = record_change_sentences(plan_record_changes(existing, desired), existing)
    assert sentences == [
        "deleted CNAME record of old: it is not one of the configured sites",
        "updated CNAME record of lz (routing weight 10 -> weight 0; health check none -> hc-9)",
        "created CNAME record of new (weight 10, lz.example.net)",
    ]


def test_record_change_sentence_for_simple_record():
    simple = {"Name": "app.example.com.", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.1"}]}
    changes = [{"Action": "DELETE", "ResourceRecordSet": simple}]
    assert record_change_sentences(changes, [simple]) == [
        "deleted simple A record: it is not one of the configured sites"
    ]
