"""Desired health check configs, their comparison with existing ones, and finding owned checks by tags."""

import pytest

from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import choose_owned_check
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import chunks
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import compare_health_check
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import desired_health_check_config
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import endpoint_fields_changed
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import health_check_tags
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import owned_health_checks

ALIAS = {"dns_name": "op-alb.us-west-2.elb.amazonaws.com.", "hosted_zone_id": "Z1H1FL5HABSF5"}


def site(health_check, cname=None):
    """A site with an alias target, or with a cname target when one is given."""
    return {"name": "outposts", "alias": None if cname else ALIAS, "cname": cname, "health_check": health_check}


@pytest.mark.parametrize(
    "health_check, expected",
    [
        (
            {"type": "HTTP"},
            {"Type": "HTTP", "Port": 80, "ResourcePath": "/", "FullyQualifiedDomainName": "op-alb.us-west-2.elb.amazonaws.com",
             "RequestInterval": 30, "FailureThreshold": 3, "Inverted": False, "Disabled": False},
        ),
        (
            {"type": "HTTPS", "path": "/healthz", "request_interval": 10, "failure_threshold": 2},
            {"Type": "HTTPS", "Port": 443, "ResourcePath": "/healthz",
             "FullyQualifiedDomainName": "op-alb.us-west-2.elb.amazonaws.com", "RequestInterval": 10,
             "FailureThreshold": 2, "Inverted": False, "Disabled": False, "EnableSNI": True},
        ),
        (
            {"type": "TCP", "port": 6443, "ip": "192.0.2.10"},
            {"Type": "TCP", "Port": 6443, "IPAddress": "192.0.2.10", "RequestInterval": 30, "FailureThreshold": 3,
             "Inverted": False, "Disabled": False},
        ),
        (
            {"fqdn": "health.example.com.", "port": 8080},
            {"Type": "HTTP", "Port": 8080, "ResourcePath": "/", "FullyQualifiedDomainName": "health.example.com",
             "RequestInterval": 30, "FailureThreshold": 3, "Inverted": False, "Disabled": False},
        ),
    ],
)
def test_desired_health_check_config(health_check, expected):
    assert desired_health_check_config(site(health_check)) == expected


def test_desired_health_check_config_cname_default_fqdn_and_inverted():
    config = desired_health_check_config(site({"type": "HTTP"}, cname={"value": "lz.example.net"}), True)
    assert config["FullyQualifiedDomainName"] == "lz.example.net"
    assert config["Inverted"] is True


@pytest.mark.parametrize("health_check", [None, {}])
def test_no_health_check(health_check):
    assert desired_health_check_config(site(health_check)) is None


def existing_from(desired, **overrides):
    """An existing config as Route 53 returns it: every field present, some with defaults."""
    existing = {"MeasureLatency": False, "EnableSNI": False, "Inverted": False, "Disabled": False}
    existing.update(desired)
    existing.update(overrides)
    return existing


BASE = desired_health_check_config(site({"type": "HTTP", "path": "/healthz"}))
HTTPS = desired_health_check_config(site({"type": "HTTPS"}))


def test_equal_config_is_idempotent():
    assert compare_health_check(existing_from(BASE), BASE) == ("none", {}, [])
    assert compare_health_check(existing_from(HTTPS), HTTPS) == ("none", {}, [])


def test_fqdn_case_and_trailing_dot_do_not_matter():
    existing = existing_from(BASE, FullyQualifiedDomainName="OP-ALB.us-west-2.elb.amazonaws.com.")
    assert compare_health_check(existing, BASE)[0] == "none"


@pytest.mark.parametrize(
    "overrides, changes",
    [
        ({"Port": 8080}, {"Port": 80}),
        ({"ResourcePath": "/"}, {"ResourcePath": "/healthz"}),
        ({"FailureThreshold": 5}, {"FailureThreshold": 3}),
        ({"Inverted": True}, {"Inverted": False}),
        ({"Disabled": True}, {"Disabled": False}),
        ({"FullyQualifiedDomainName": "old.example.net"}, {"FullyQualifiedDomainName": BASE["FullyQualifiedDomainName"]}),
    ],
)
def test_updatable_differences(overrides, changes):
    action, got, reasons = compare_health_check(existing_from(BASE, **overrides), BASE)
    assert action == "update"
    assert got == changes
    assert len(reasons) == 1


def test_inversion_is_an_update():
    desired = desired_health_check_config(site({"type": "HTTP", "path": "/healthz"}), inverted=True)
    assert compare_health_check(existing_from(BASE), desired) == ("update", {"Inverted": True}, ["Inverted False -> True"])


def test_sni_turned_on_for_https():
    action, changes, _reasons = compare_health_check(existing_from(HTTPS, EnableSNI=False), HTTPS)
    assert (action, changes) == ("update", {"EnableSNI": True})


def test_fqdn_removed_when_switching_to_ip_is_reset():
    desired = desired_health_check_config(site({"type": "HTTP", "path": "/healthz", "ip": "192.0.2.1"}))
    action, changes, _reasons = compare_health_check(existing_from(BASE), desired)
    assert action == "update"
    assert changes == {"IPAddress": "192.0.2.1", "ResetElements": ["FullyQualifiedDomainName"]}


@pytest.mark.parametrize(
    "existing_overrides, desired, reason",
    [
        ({"Type": "HTTPS"}, BASE, "Type HTTPS -> HTTP"),
        ({"RequestInterval": 10}, BASE, "RequestInterval 10 -> 30"),
        # an IP address cannot be removed in place
        ({"IPAddress": "192.0.2.1"}, BASE, "IPAddress 192.0.2.1 -> none"),
    ],
)
def test_immutable_differences_recreate(existing_overrides, desired, reason):
    action, changes, reasons = compare_health_check(existing_from(BASE, **existing_overrides), desired)
    assert action == "recreate"
    assert changes == {}
    assert reason in reasons


@pytest.mark.parametrize(
    "overrides, changed",
    [
        ({}, False),
        ({"FailureThreshold": 9, "Inverted": True}, False),
        ({"Port": 81}, True),
        ({"ResourcePath": "/other"}, True),
        ({"FullyQualifiedDomainName": "other.example.net"}, True),
        ({"FullyQualifiedDomainName": "OP-ALB.us-west-2.elb.amazonaws.com."}, False),
        ({"Type": "TCP"}, True),
    ],
)
def test_endpoint_fields_changed(overrides, changed):
    assert endpoint_fields_changed(existing_from(BASE, **overrides), BASE) is changed


def test_health_check_tags():
    assert health_check_tags("Z1", "App.Example.com.", "outposts") == {
        "Name": "eks-ha app.example.com outposts",
        "eks-ha:zone": "Z1",
        "eks-ha:record": "app.example.com",
        "eks-ha:site": "outposts",
    }


def test_owned_health_checks_by_tags():
    checks = [{"Id": "1"}, {"Id": "2"}, {"Id": "3"}, {"Id": "4"}, {"Id": "5"}]
    tags = {
        "1": health_check_tags("Z1", "app.example.com", "outposts"),
        "2": health_check_tags("Z1", "app.example.com", "region"),
        "3": health_check_tags("Z2", "app.example.com", "region"),  # other zone
        "4": health_check_tags("Z1", "other.example.com", "region"),  # other record
        "5": {"Name": "someone else's"},
    }
    owned = owned_health_checks(checks, tags, "Z1", "app.example.com.")
    assert owned == {"outposts": [{"Id": "1"}], "region": [{"Id": "2"}]}


@pytest.mark.parametrize(
    "candidates, referenced, keep, extras",
    [
        ([], None, None, []),
        ([{"Id": "a"}], None, "a", []),
        ([{"Id": "a"}, {"Id": "b"}], None, "a", ["b"]),
        # keep the one the record points at
        ([{"Id": "a"}, {"Id": "b"}], "b", "b", ["a"]),
    ],
)
def test_choose_owned_check(candidates, referenced, keep, extras):
    kept, rest = choose_owned_check(candidates, referenced)
    assert (kept["Id"] if kept else None) == keep
    assert [c["Id"] for c in rest] == extras


def test_chunks_of_ten():
    assert [len(c) for c in chunks(list(range(23)), 10)] == [10, 10, 3]
    assert list(chunks([], 10)) == []
