"""Every bad input to route53_failover fails with one sentence naming the option and what is allowed."""

import copy

import pytest

from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import default_record_type
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import site_target_kind
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import validate_request

ALIAS = {"dns_name": "alb.example.net", "hosted_zone_id": "Z1H1FL5HABSF5", "evaluate_target_health": True}


def site(name, role=None, weight=None, cname=None, health_check=None):
    """A sites entry the way the argument spec hands it over (unset keys are None); ALIAS unless cname is given."""
    return {
        "name": name,
        "role": role,
        "weight": weight,
        "alias": None if cname else copy.deepcopy(ALIAS),
        "cname": cname,
        "health_check": health_check if health_check is not None else {"type": "HTTP"},
    }


def failover_sites():
    return [site("outposts", role="primary"), site("region", role="secondary")]


def weighted_sites():
    return [site("outposts", weight=100), site("region", weight=50)]


def test_valid_failover():
    assert validate_request("failover", failover_sites()) is None
    assert validate_request("failover", failover_sites(), active_site="region") is None


def test_valid_weighted():
    assert validate_request("weighted", weighted_sites(), active_site="outposts") is None


def test_valid_weighted_one_zero_weight():
    sites = weighted_sites()
    sites[1]["weight"] = 0
    assert validate_request("weighted", sites) is None


def test_secondary_without_health_check_is_allowed():
    sites = failover_sites()
    sites[1]["health_check"] = None
    assert validate_request("failover", sites) is None


def mutate(routing, change):
    sites = failover_sites() if routing == "failover" else weighted_sites()
    change(sites)
    return sites


CASES = [
    ("fewer than 2 sites", "failover", lambda s: s.pop(), None, None,
     "sites needs at least 2 entries with routing=failover, got 1."),
    ("no weighted site", "weighted", lambda s: s.clear(), None, None,
     "sites needs at least 1 entry with routing=weighted, got 0."),
    ("duplicate names", "failover", lambda s: s[1].update(name="outposts"), None, None,
     "sites names must be unique, but 'outposts' appears 2 times."),
    ("both alias and cname", "failover", lambda s: s[0].update(cname={"value": "x.example.net"}), None, None,
     "site 'outposts' must set exactly one of alias or cname."),
    ("neither alias nor cname", "failover", lambda s: s[0].update(alias=None), None, None,
     "site 'outposts' must set exactly one of alias or cname."),
    ("alias without hosted_zone_id", "failover", lambda s: s[0]["alias"].update(hosted_zone_id=None), None, None,
     "site 'outposts' alias needs hosted_zone_id (the hosted zone of the alias target)."),
    ("alias without dns_name", "failover", lambda s: s[0]["alias"].update(dns_name=None), None, None,
     "site 'outposts' alias needs dns_name (the DNS name of the target)."),
    ("two primaries", "failover", lambda s: s[1].update(role="primary"), None, None,
     "routing=failover needs exactly one primary and one secondary site, "
     "got 2 primaries (outposts, region) and no secondary."),
    ("no primary", "failover", lambda s: s[0].update(role="secondary"), None, None,
     "routing=failover needs exactly one primary and one secondary site, "
     "got no primary and 2 secondaries (outposts, region)."),
    ("two secondaries", "failover", lambda s: s.append(site("lz", role="secondary")), None, None,
     "routing=failover needs exactly one primary and one secondary site, "
     "got 1 primary (outposts) and 2 secondaries (region, lz)."),
    ("role missing with failover", "failover", lambda s: s[1].update(role=None), None, None,
     "site 'region' needs role primary or secondary with routing=failover."),
    ("weight with failover", "failover", lambda s: s[1].update(weight=10), None, None,
     "site 'region' sets weight, which is only allowed with routing=weighted."),
    ("role with weighted", "weighted", lambda s: s[0].update(role="primary"), None, None,
     "site 'outposts' sets role, which is only allowed with routing=failover."),
    ("weight missing with weighted", "weighted", lambda s: s[1].update(weight=None), None, None,
     "site 'region' needs a weight between 0 and 255 with routing=weighted."),
    ("all weights zero", "weighted", lambda s: [x.update(weight=0) for x in s], None, None,
     "routing=weighted needs at least one site with a weight above 0, but all weights are 0."),
    ("weight above 255", "weighted", lambda s: s[0].update(weight=256), None, None,
     "site 'outposts' weight must be between 0 and 255, got 256."),
    ("negative weight", "weighted", lambda s: s[0].update(weight=-1), None, None,
     "site 'outposts' weight must be between 0 and 255, got -1."),
    ("request_interval", "failover", lambda s: s[0]["health_check"].update(request_interval=20), None, None,
     "site 'outposts' health_check.request_interval must be 10 or 30, got 20."),
    ("failure_threshold low", "failover", lambda s: s[0]["health_check"].update(failure_threshold=0), None, None,
     "site 'outposts' health_check.failure_threshold must be between 1 and 10, got 0."),
    ("failure_threshold high", "failover", lambda s: s[0]["health_check"].update(failure_threshold=11), None, None,
     "site 'outposts' health_check.failure_threshold must be between 1 and 10, got 11."),
    ("path with TCP", "failover", lambda s: s[0]["health_check"].update(type="TCP", port=443, path="/"), None, None,
     "site 'outposts' health_check.path is not allowed with type TCP."),
    ("TCP without port", "failover", lambda s: s[0]["health_check"].update(type="TCP"), None, None,
     "site 'outposts' health_check.port is required with type TCP."),
    ("port out of range", "failover", lambda s: s[0]["health_check"].update(port=70000), None, None,
     "site 'outposts' health_check.port must be between 1 and 65535, got 70000."),
    ("path without slash", "failover", lambda s: s[0]["health_check"].update(path="healthz"), None, None,
     "site 'outposts' health_check.path must start with '/', got 'healthz'."),
    ("fqdn and ip", "failover", lambda s: s[0]["health_check"].update(fqdn="a.example.net", ip="192.0.2.1"),
     None, None, "site 'outposts' health_check sets both fqdn and ip; set only one of them."),
    ("bad check type", "failover", lambda s: s[0]["health_check"].update(type="HTTP_STR_MATCH"), None, None,
     "site 'outposts' health_check.type must be HTTP, HTTPS or TCP, got HTTP_STR_MATCH."),
    ("primary without health check", "failover", lambda s: s[0].update(health_check={}), None, None,
     "site 'outposts' is the primary of a failover record and needs a health_check, "
     "otherwise Route 53 never fails over."),
    ("active_site unknown", "failover", lambda s: None, "moon", None,
     "active_site 'moon' is not one of the sites (outposts, region)."),
    ("cname with record_type A", "failover",
     lambda s: [x.update(alias=None, cname={"value": f"{x['name']}.example.net", "ttl": 60}) for x in s], None, "A",
     "site 'outposts' uses cname, which needs record_type CNAME, got A."),
    ("mixed alias and cname without record_type", "failover",
     lambda s: s[1].update(alias=None, cname={"value": "region.example.net", "ttl": 60}), None, None,
     "record_type is required when some sites use alias and others use cname."),
    ("cname without value", "failover",
     lambda s: s[1].update(alias=None, cname={"value": None, "ttl": 60}), None, "CNAME",
     "site 'region' cname needs value (the name the record points to)."),
    ("cname negative ttl", "failover",
     lambda s: s[1].update(alias=None, cname={"value": "r.example.net", "ttl": -5}), None, "CNAME",
     "site 'region' cname.ttl must be between 0 and 2147483647, got -5."),
    ("missing name", "failover", lambda s: s[1].update(name=""), None, None,
     "every entry of sites needs a name."),
]


@pytest.mark.parametrize(
    "routing, change, active_site, record_type, sentence",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_input_sentence(routing, change, active_site, record_type, sentence):
    sites = mutate(routing, change)
    problem = validate_request(routing, sites, active_site=active_site, record_type=record_type)
    assert problem == sentence
    # one sentence: ends with a period and has no line break
    assert problem.endswith(".") and "\n" not in problem


def test_no_sites():
    assert validate_request("failover", None) == "sites needs at least 2 entries with routing=failover, got 0."


def test_one_weighted_site_is_enough():
    sites = weighted_sites()[:1]
    assert validate_request("weighted", sites) is None


@pytest.mark.parametrize(
    "entry, kind",
    [
        ({"alias": ALIAS}, "alias"),
        ({"cname": {"value": "x"}}, "cname"),
        ({"alias": ALIAS, "cname": {"value": "x"}}, None),
        ({}, None),
    ],
)
def test_site_target_kind(entry, kind):
    assert site_target_kind(entry) == kind


@pytest.mark.parametrize(
    "kinds, expected",
    [(["alias", "alias"], "A"), (["cname", "cname"], "CNAME"), (["alias", "cname"], None)],
)
def test_default_record_type(kinds, expected):
    sites = [{"alias": ALIAS} if k == "alias" else {"cname": {"value": "x"}} for k in kinds]
    assert default_record_type(sites) == expected
