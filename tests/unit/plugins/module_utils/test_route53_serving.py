"""Route 53's answer rules: serving_site / serving_shares and the health-status helpers they rely on."""

import pytest

from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import endpoint_healthy
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import reported_healthy
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import route53_healthy
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import serving_shares
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import serving_site
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import status_word


def failover(primary_check="hc-p", secondary_check="hc-s"):
    records = [
        {"Name": "app.example.com.", "Type": "A", "SetIdentifier": "outposts", "Failover": "PRIMARY"},
        {"Name": "app.example.com.", "Type": "A", "SetIdentifier": "region", "Failover": "SECONDARY"},
    ]
    if primary_check:
        records[0]["HealthCheckId"] = primary_check
    if secondary_check:
        records[1]["HealthCheckId"] = secondary_check
    return records


def weighted(*sites):
    """sites: (name, weight, check id or None)"""
    records = []
    for name, weight, check in sites:
        record = {"Name": "app.example.com.", "Type": "A", "SetIdentifier": name, "Weight": weight}
        if check:
            record["HealthCheckId"] = check
        records.append(record)
    return records


@pytest.mark.parametrize(
    "primary_ok, secondary_ok, expected",
    [
        (True, True, "outposts"),
        (True, False, "outposts"),
        (False, True, "region"),
        # every record unhealthy: Route 53 answers with the primary
        (False, False, "outposts"),
    ],
)
def test_failover_serving_site(primary_ok, secondary_ok, expected):
    health = {"hc-p": primary_ok, "hc-s": secondary_ok}
    assert serving_site(failover(), health) == expected
    shares = serving_shares(failover(), health)
    assert shares[expected] == 100.0
    assert sum(shares.values()) == 100.0


@pytest.mark.parametrize(
    "primary_check, secondary_check, health, expected",
    [
        # a record without health check is healthy
        (None, "hc-s", {"hc-s": True}, "outposts"),
        ("hc-p", None, {"hc-p": False}, "region"),
        # a check missing from the health map counts as healthy
        ("hc-p", "hc-s", {}, "outposts"),
    ],
)
def test_failover_records_without_health(primary_check, secondary_check, health, expected):
    assert serving_site(failover(primary_check, secondary_check), health) == expected


def test_failover_only_secondary_record():
    records = [r for r in failover() if r["Failover"] == "SECONDARY"]
    assert serving_site(records, {"hc-s": False}) == "region"


@pytest.mark.parametrize(
    "sites, health, expected",
    [
        # healthy, weighted in proportion
        ([("a", 1, "h1"), ("b", 3, "h2")], {"h1": True, "h2": True}, {"a": 25.0, "b": 75.0}),
        # an unhealthy record drops out
        ([("a", 1, "h1"), ("b", 3, "h2")], {"h1": True, "h2": False}, {"a": 100.0, "b": 0.0}),
        # zero weight gets nothing while a healthy non-zero record exists
        ([("a", 0, "h1"), ("b", 10, "h2")], {"h1": True, "h2": True}, {"a": 0.0, "b": 100.0}),
        # no healthy non-zero record: healthy zero-weight records share equally
        ([("a", 0, "h1"), ("b", 0, "h2"), ("c", 5, "h3")], {"h1": True, "h2": True, "h3": False},
         {"a": 50.0, "b": 50.0, "c": 0.0}),
        # all unhealthy: all count as healthy, non-zero weights first
        ([("a", 0, "h1"), ("b", 2, "h2"), ("c", 2, "h3")], {"h1": False, "h2": False, "h3": False},
         {"a": 0.0, "b": 50.0, "c": 50.0}),
        # all unhealthy and all zero: equal shares
        ([("a", 0, "h1"), ("b", 0, "h2")], {"h1": False, "h2": False}, {"a": 50.0, "b": 50.0}),
        # record without health check is healthy
        ([("a", 1, None), ("b", 1, "h2")], {"h2": False}, {"a": 100.0, "b": 0.0}),
        # weights returned as strings are accepted
        ([("a", "1", "h1"), ("b", "1", "h2")], {"h1": True, "h2": True}, {"a": 50.0, "b": 50.0}),
        # rounding to two decimals
        ([("a", 1, None), ("b", 1, None), ("c", 1, None)], {}, {"a": 33.33, "b": 33.33, "c": 33.33}),
    ],
)
def test_weighted_serving_shares(sites, health, expected):
    assert serving_shares(weighted(*sites), health) == expected


@pytest.mark.parametrize(
    "sites, health, expected",
    [
        ([("a", 1, "h1"), ("b", 3, "h2")], {"h1": True, "h2": True}, "b"),
        ([("a", 1, "h1"), ("b", 3, "h2")], {"h1": True, "h2": False}, "a"),
        # ties go to the first name
        ([("b", 1, None), ("a", 1, None)], {}, "a"),
    ],
)
def test_weighted_serving_site(sites, health, expected):
    assert serving_site(weighted(*sites), health) == expected


def test_no_records():
    assert serving_site([], {}) is None
    assert serving_shares([], {}) == {}


def test_simple_records_are_ignored():
    assert serving_shares([{"Name": "app.example.com.", "Type": "A", "TTL": 60}], {}) == {}


def observations(successes, failures):
    ok = [{"StatusReport": {"Status": "Success: HTTP Status Code 200, OK"}}] * successes
    ko = [{"StatusReport": {"Status": "Failure: Connection timed out."}}] * failures
    return ok + ko


@pytest.mark.parametrize(
    "successes, failures, expected",
    [
        (16, 0, True),
        (0, 16, False),
        # 18% is not enough: more than 18% must report success
        (9, 41, False),
        (10, 40, True),
        (1, 4, True),
        (0, 0, None),
    ],
)
def test_reported_healthy_18_percent_rule(successes, failures, expected):
    assert reported_healthy(observations(successes, failures)) is expected


def test_reported_healthy_ignores_missing_status_report():
    assert reported_healthy([{"Region": "us-east-1"}]) is False


@pytest.mark.parametrize(
    "reported, disabled, expected",
    [
        # the observations describe the endpoint itself, inverted or not
        (True, False, True),
        (False, False, False),
        # no status yet, or disabled: unknown
        (None, False, None),
        (True, True, None),
    ],
)
def test_endpoint_healthy(reported, disabled, expected):
    assert endpoint_healthy(reported, disabled) is expected


@pytest.mark.parametrize(
    "endpoint, inverted, disabled, expected",
    [
        (True, False, False, True),
        (True, True, False, False),
        (False, False, False, False),
        (False, True, False, True),
        # Route 53 treats disabled checks as healthy, and Inverted still applies (the documented way to stop routing)
        (False, False, True, True),
        (True, True, True, False),
        # unknown: healthy unless inverted
        (None, False, False, True),
        (None, True, False, False),
    ],
)
def test_route53_healthy(endpoint, inverted, disabled, expected):
    assert route53_healthy(endpoint, inverted, disabled) is expected


@pytest.mark.parametrize("value, word", [(True, "healthy"), (False, "unhealthy"), (None, "unknown")])
def test_status_word(value, word):
    assert status_word(value) == word
