"""Sites named without a target keep their current record target and health check."""

from __future__ import annotations

from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import health_check_option
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import keep_current_targets

ALIAS_RECORD = {
    "Name": "www.example.com.", "Type": "A", "SetIdentifier": "outposts", "Failover": "PRIMARY",
    "AliasTarget": {"HostedZoneId": "Z1H1FL5HABSF5", "DNSName": "op-alb.us-west-2.elb.amazonaws.com.",
                    "EvaluateTargetHealth": True},
    "HealthCheckId": "hc-1",
}
CNAME_RECORD = {
    "Name": "www.example.com.", "Type": "CNAME", "SetIdentifier": "region", "Failover": "SECONDARY",
    "TTL": 60, "ResourceRecords": [{"Value": "region.example.net"}], "HealthCheckId": "hc-2",
}
CHECK = {"Id": "hc-1", "HealthCheckConfig": {
    "Type": "HTTP", "Port": 80, "ResourcePath": "/", "FullyQualifiedDomainName": "op-alb.us-west-2.elb.amazonaws.com",
    "RequestInterval": 30, "FailureThreshold": 3, "Inverted": True, "Disabled": False}}


def test_health_check_option_describes_the_config_without_flags():
    assert health_check_option(CHECK["HealthCheckConfig"]) == {
        "type": "HTTP", "port": 80, "path": "/", "fqdn": "op-alb.us-west-2.elb.amazonaws.com",
        "request_interval": 30, "failure_threshold": 3}


def test_site_without_target_keeps_alias_and_check():
    sites, problem = keep_current_targets([{"name": "outposts", "role": "primary"}], [ALIAS_RECORD], {"outposts": CHECK})
    assert problem is None
    assert sites[0]["alias"] == {"dns_name": "op-alb.us-west-2.elb.amazonaws.com", "hosted_zone_id": "Z1H1FL5HABSF5",
                                 "evaluate_target_health": True}
    assert sites[0]["health_check"]["fqdn"] == "op-alb.us-west-2.elb.amazonaws.com"
    assert sites[0]["role"] == "primary"


def test_site_without_target_keeps_cname_and_may_have_no_check():
    sites, problem = keep_current_targets([{"name": "region", "role": "secondary"}], [CNAME_RECORD], {})
    assert problem is None
    assert sites[0]["cname"] == {"value": "region.example.net", "ttl": 60}
    assert "health_check" not in sites[0]


def test_given_targets_and_checks_are_left_as_given():
    given = {"name": "outposts", "role": "primary", "cname": {"value": "new.example.net", "ttl": 30}}
    sites, problem = keep_current_targets([given], [ALIAS_RECORD], {"outposts": CHECK})
    assert problem is None and sites == [given]


def test_site_without_target_and_without_record_is_one_sentence():
    sites, problem = keep_current_targets([{"name": "mars", "role": "secondary"}], [ALIAS_RECORD], {})
    assert problem == ("site 'mars' gives neither alias nor cname, and the name has no record of that site to keep; "
                       "give its target.")
