#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: route53_failover_info
version_added: 0.1.0
short_description: Describe the Route 53 failover of one application name and which site it serves
description:
  - Reads the failover or weighted record sets of one name, their health checks and the checks' current
    status, and computes which site Route 53 answers with by Route 53's rules.
  - Read only; meant for pre-flight checks and for verifying a move made with M(eks_ha.resilience.route53_failover).
  - The endpoint health of a site is what its health check's checkers observe (healthy when more than 18%
    of them report success); C(Inverted) does not change the observations, only the status Route 53 routes
    on. A disabled check counts as healthy for routing (then inverted if C(Inverted)) and its endpoint health
    as unknown.
  - Route 53 is a global service; the client region defaults to C(us-east-1) when no region is configured.
options:
  record_type:
    description:
      - The record type to describe. Without it the first of V(A), V(AAAA) and V(CNAME) that has failover
        or weighted record sets for the name is used.
    type: str
    choices: [A, AAAA, CNAME]
notes:
  - Alias targets with C(evaluate_target_health) are treated as healthy when computing RV(serving_site);
    the health of the target itself is out of the scope of this module.
author:
  - eks_ha.resilience maintainers (@eks-ha)
extends_documentation_fragment:
  - eks_ha.resilience.route53_name
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Pre-flight - which site serves app.example.com?
  eks_ha.resilience.route53_failover_info:
    hosted_zone: example.com
    record_name: app.example.com
  register: dns

- name: Refuse to start the drill unless the Outpost serves and the Region is healthy
  ansible.builtin.assert:
    that:
      - dns.serving_site == 'outposts'
      - dns.health_checks.region.endpoint_healthy
"""

RETURN = r"""
hosted_zone_id:
  description: The id of the hosted zone.
  returned: always
  type: str
record_type:
  description: The record type described, null when the name has no failover or weighted record sets.
  returned: always
  type: str
  sample: A
routing:
  description: V(failover) or V(weighted), null when there are no record sets.
  returned: always
  type: str
records:
  description: One entry per set identifier.
  returned: always
  type: list
  elements: dict
  contains:
    site:
      description: The set identifier (the site name).
      type: str
    role:
      description: V(primary) or V(secondary) with failover routing, else null.
      type: str
    weight:
      description: The weight with weighted routing, else null.
      type: int
    alias:
      description: Whether the record is an alias.
      type: bool
    target:
      description: The alias DNS name, or the record values joined with a comma.
      type: str
    evaluate_target_health:
      description: For alias records, whether Route 53 evaluates the target health.
      type: bool
    ttl:
      description: The TTL of a non-alias record.
      type: int
    health_check_id:
      description: The id of the health check of the record, or null.
      type: str
health_checks:
  description: Per site, its health check and the check's current status.
  returned: always
  type: dict
  contains:
    id:
      description: The health check id.
      type: str
    inverted:
      description: Whether the check is inverted.
      type: bool
    disabled:
      description: Whether the check is disabled (Route 53 then treats it as healthy).
      type: bool
    reported_status:
      description: The reported status, V(healthy), V(unhealthy) or V(unknown) (no observations, or the check is gone).
      type: str
    endpoint_healthy:
      description: The health of the endpoint itself (what the checkers observe); null when unknown.
      type: bool
    route53_status:
      description: The status Route 53 routes on, V(healthy) or V(unhealthy).
      type: str
    config:
      description: The health check configuration (snake_case).
      type: dict
serving_site:
  description:
    - The site Route 53 answers with right now, by Route 53's rules. With weighted routing, the site with
      the largest share.
  returned: always
  type: str
serving_shares:
  description: Site to percentage of the answers Route 53 gives.
  returned: always
  type: dict
"""

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import AnsibleRoute53Error
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import NAME_ARGUMENT_SPEC
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import describe_health_check
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import find_hosted_zone
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import get_health_check
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import get_health_check_observations
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import list_record_sets
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import normalize_dns_name
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import record_in_zone
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import serving_shares
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import serving_site

ROUTED_TYPES = ("A", "AAAA", "CNAME")


def pick_record_type(records, wanted=None):
    """Return ``wanted``, or the first of A, AAAA, CNAME that has routed record sets, or None."""
    if wanted:
        return wanted
    present = {r["Type"] for r in records}
    for record_type in ROUTED_TYPES:
        if record_type in present:
            return record_type
    return None


def describe_record(record):
    """Return the summary of one routed record set."""
    alias = record.get("AliasTarget")
    weight = record.get("Weight")
    return {
        "site": record["SetIdentifier"],
        "type": record["Type"],
        "role": record["Failover"].lower() if record.get("Failover") else None,
        "weight": None if weight is None else int(weight),
        "alias": bool(alias),
        "target": alias["DNSName"].rstrip(".") if alias else ", ".join(v["Value"] for v in record.get("ResourceRecords", [])),
        "evaluate_target_health": bool(alias.get("EvaluateTargetHealth")) if alias else None,
        "ttl": None if alias else record.get("TTL"),
        "health_check_id": record.get("HealthCheckId"),
    }


def missing_health_check(check_id):
    """Return the facts for a health check a record names but that no longer exists."""
    return {
        "id": check_id,
        "inverted": False,
        "disabled": False,
        "reported_status": "unknown",
        "endpoint_healthy": None,
        "route53_status": "healthy",
        "config": {},
    }


def describe(module, client):
    """Return the module result for the name."""
    params = module.params
    zone, problem = find_hosted_zone(client, params["hosted_zone"], params["private_zone"])
    if problem:
        module.fail_json(msg=problem)
    record_name = normalize_dns_name(params["record_name"])
    if not record_in_zone(record_name, zone["Name"]):
        module.fail_json(msg=f"record_name '{params['record_name']}' is not inside hosted zone {zone['Name'].rstrip('.')}.")
    zone_id = zone["Id"].split("/")[-1]

    routed = [r for r in list_record_sets(client, zone_id, record_name, params["record_type"]) if r.get("SetIdentifier")]
    record_type = pick_record_type(routed, params["record_type"])
    routed = [r for r in routed if r["Type"] == record_type]

    health_checks, route_health = {}, {}
    for record in routed:
        check_id = record.get("HealthCheckId")
        if not check_id:
            continue
        check = get_health_check(client, check_id)
        if check is None:
            facts = missing_health_check(check_id)
        else:
            facts = describe_health_check(check, get_health_check_observations(client, check_id))
            facts["config"] = camel_dict_to_snake_dict(facts["config"])
        health_checks[record["SetIdentifier"]] = facts
        route_health[check_id] = facts["route53_status"] == "healthy"

    routing = None
    if routed:
        routing = "failover" if any(r.get("Failover") for r in routed) else "weighted"
    return {
        "changed": False,
        "hosted_zone_id": zone_id,
        "record_type": record_type,
        "routing": routing,
        "records": [describe_record(r) for r in routed],
        "health_checks": health_checks,
        "serving_site": serving_site(routed, route_health),
        "serving_shares": serving_shares(routed, route_health),
    }


def main():
    argument_spec = dict(
        **NAME_ARGUMENT_SPEC,
        record_type=dict(type="str", choices=["A", "AAAA", "CNAME"]),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    # Route 53 is global: any region works, so do not make the caller name one.
    client = module.client("route53", region=module.region or "us-east-1")
    try:
        result = describe(module, client)
    except AnsibleRoute53Error as e:
        module.fail_json_aws_error(e)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
