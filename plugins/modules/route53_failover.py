#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: route53_failover
version_added: 0.1.0
short_description: Own the Route 53 DNS failover of one application name across two or more sites
description:
  - Manages the failover or weighted record sets of one name (one record set per site, the site name
    being the set identifier) together with one Route 53 health check per site.
  - Health checks are found again by their tags (C(eks-ha:zone), C(eks-ha:record), C(eks-ha:site) and C(Name)),
    created only when missing and updated only when something differs. O(sites[].health_check.type) and
    O(sites[].health_check.request_interval) cannot be changed in place, so such a change creates a new check,
    points the record at it and deletes the old one.
  - All record changes for the name are sent in one C(ChangeResourceRecordSets) batch, so a flip is atomic.
  - O(active_site) makes a planned move. With O(routing=failover) every other site Route 53 would still
    answer with is drained by inverting its health check, which is the manual method AWS documents.
    A site is only inverted while its endpoint is healthy; a site whose endpoint is failing is left
    un-inverted because its failure already drains it and inverting it would send traffic back to it.
    With O(routing=weighted) the active site gets the highest configured weight and every other site 0.
    Calling the module again without O(active_site) restores the configured state (failback).
  - The endpoint health of a site is what its health check's checkers observe (healthy when more than 18%
    of them report success); C(Inverted) does not change the observations, only the status Route 53 routes
    on. A disabled health check is re-enabled, and its endpoint health counts as unknown until it reports again.
  - Route 53 is a global service; the client region defaults to C(us-east-1) when no region is configured.
options:
  record_type:
    description:
      - The record type.
      - Defaults to V(A) when every site uses O(sites[].alias) and to V(CNAME) when every site uses O(sites[].cname).
    type: str
    choices: [A, AAAA, CNAME]
  routing:
    description:
      - The Route 53 routing policy of the record sets.
    type: str
    choices: [failover, weighted]
    default: failover
  sites:
    description:
      - The sites serving the name. O(routing=failover) needs exactly one V(primary) and one V(secondary);
        O(routing=weighted) takes one site or more.
      - Required when O(state=present). With O(state=absent) it is only used to default O(record_type).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The site name, used as the set identifier of its record set and in the tags of its health check.
        type: str
        required: true
      role:
        description:
          - The failover role of the site. Only with O(routing=failover).
        type: str
        choices: [primary, secondary]
      weight:
        description:
          - The weight of the site, between 0 and 255. Only with O(routing=weighted).
        type: int
      alias:
        description:
          - An alias target, for example a load balancer. At most one of O(sites[].alias) and O(sites[].cname).
          - A site given with neither keeps its current target and its current health check (a planned move
            needs nothing but the site names and their roles or weights).
        type: dict
        suboptions:
          dns_name:
            description:
              - The DNS name of the alias target.
            type: str
          hosted_zone_id:
            description:
              - The hosted zone id of the alias target (for a load balancer, its canonical hosted zone id).
            type: str
          evaluate_target_health:
            description:
              - Let Route 53 also evaluate the health of the alias target.
              - The health of the target itself is not known to this module, which treats it as healthy
                when it computes RV(serving_site).
            type: bool
            default: true
      cname:
        description:
          - A plain target value. At most one of O(sites[].alias) and O(sites[].cname).
        type: dict
        suboptions:
          value:
            description:
              - The name (or, with O(record_type=CNAME) only, the value) the record points to.
            type: str
          ttl:
            description:
              - The TTL of the record in seconds.
            type: int
            default: 60
      health_check:
        description:
          - The Route 53 health check of the site. Optional, but the primary of a failover record needs one,
            and a site without one can neither fail over nor be drained.
        type: dict
        suboptions:
          type:
            description:
              - The protocol of the check.
            type: str
            choices: [HTTP, HTTPS, TCP]
            default: HTTP
          port:
            description:
              - The port checked. Defaults to 80 for V(HTTP) and 443 for V(HTTPS); required for V(TCP).
            type: int
          path:
            description:
              - The path requested, defaults to C(/). Not allowed with V(TCP).
            type: str
          fqdn:
            description:
              - The host name checked. Defaults to the alias C(dns_name) or the cname C(value).
              - Mutually exclusive with O(sites[].health_check.ip).
            type: str
          ip:
            description:
              - The IP address checked instead of a host name.
            type: str
          request_interval:
            description:
              - Seconds between two checks by one checker, V(10) or V(30). Cannot be changed in place.
            type: int
            default: 30
          failure_threshold:
            description:
              - Consecutive failures (or successes) needed to change the status, between 1 and 10.
            type: int
            default: 3
  active_site:
    description:
      - Make a planned move of the traffic to this site (see the description). Must be one of O(sites[].name).
      - Without it the sites get their configured weights and no health check is inverted.
    type: str
  force:
    description:
      - Move to O(active_site) even when its endpoint is failing or its health is unknown.
    type: bool
    default: false
  wait:
    description:
      - Wait until Route 53 reports the record change as C(INSYNC).
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait for the change.
    type: int
    default: 300
  state:
    description:
      - V(present) makes the record sets and health checks match O(sites).
      - V(absent) deletes the failover and weighted record sets of the name (of O(record_type) when known)
        and the health checks this module created for it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Alias targets with O(sites[].alias.evaluate_target_health) are treated as healthy when computing
    RV(serving_site) and RV(serving_shares); the health of the target (for example load balancer targets)
    is out of the scope of this module.
  - Right after a health check is created or its endpoint changes, its endpoint health is unknown; a planned
    move to such a site is refused unless O(force=true).
author:
  - eks_ha.resilience maintainers (@eks-ha)
extends_documentation_fragment:
  - eks_ha.resilience.route53_name
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Fail app.example.com over from the Outpost to the Region
  eks_ha.resilience.route53_failover:
    hosted_zone: example.com
    record_name: app.example.com
    sites:
      - name: outposts
        role: primary
        alias:
          dns_name: internal-outpost-alb-123.us-west-2.elb.amazonaws.com
          hosted_zone_id: Z1H1FL5HABSF5
        health_check:
          type: HTTPS
          path: /healthz
          request_interval: 10
      - name: region
        role: secondary
        alias:
          dns_name: region-alb-456.us-west-2.elb.amazonaws.com
          hosted_zone_id: Z1H1FL5HABSF5
        health_check:
          type: HTTPS
          path: /healthz

- name: Planned move to the Region (drains the Outpost by inverting its health check)
  eks_ha.resilience.route53_failover:
    hosted_zone: example.com
    record_name: app.example.com
    active_site: region
    sites: "{{ app_sites }}"
  register: move

- name: Weighted split between a Local Zone and the Region
  eks_ha.resilience.route53_failover:
    hosted_zone: Z0123456789ABCDEFGHIJ
    record_name: api.example.com
    routing: weighted
    sites:
      - name: localzone
        weight: 200
        cname:
          value: lz.api.example.com
        health_check:
          type: TCP
          port: 443
      - name: region
        weight: 55
        cname:
          value: region.api.example.com
        health_check: {}

- name: Remove the records and the health checks of the name
  eks_ha.resilience.route53_failover:
    hosted_zone: example.com
    record_name: app.example.com
    state: absent
"""

RETURN = r"""
health_checks:
  description:
    - Per site, its health check after the run. RV(health_checks.reported_status) and
      RV(health_checks.endpoint_healthy) are measured before any change.
  returned: always
  type: dict
  sample:
    outposts:
      id: 0b7e6c4a-1111-2222-3333-444455556666
      inverted: true
      disabled: false
      reported_status: healthy
      endpoint_healthy: true
      route53_status: unhealthy
  contains:
    id:
      description: The health check id, null for a site without health check (or not created yet in check mode).
      type: str
    inverted:
      description: Whether the check is inverted after the run.
      type: bool
    disabled:
      description: Whether the check is disabled after the run (always false for checks this module manages).
      type: bool
    reported_status:
      description: The status the check reported before the run, V(healthy), V(unhealthy) or V(unknown).
      type: str
    endpoint_healthy:
      description: Whether the endpoint itself is healthy (what the checkers observe); null when unknown.
      type: bool
    route53_status:
      description: The status Route 53 routes on after the run, V(healthy) or V(unhealthy).
      type: str
records_before:
  description: The failover or weighted record sets of the name and type before the run (snake_case).
  returned: always
  type: list
  elements: dict
records_after:
  description: The record sets after the run; in check mode, the planned ones.
  returned: always
  type: list
  elements: dict
change_id:
  description: The id of the record change, null when no record changed or in check mode.
  returned: always
  type: str
serving_site:
  description:
    - The site Route 53 answers with after the run, by Route 53's rules, computed from the records and
      the health checks' statuses (the planned state in check mode). With weighted routing, the site with
      the largest share.
  returned: always
  type: str
  sample: region
serving_shares:
  description: Site to percentage of the answers Route 53 gives (100 for the one site of failover routing).
  returned: always
  type: dict
  sample: {outposts: 0.0, region: 100.0}
actions:
  description: Sentences saying what was done (or would be, in check mode) and why.
  returned: always
  type: list
  elements: str
  sample:
    - inverted health check of outposts to drain it (endpoint healthy)
record_type:
  description: The record type managed.
  returned: always
  type: str
  sample: A
hosted_zone_id:
  description: The id of the hosted zone.
  returned: always
  type: str
diff:
  description: Records and health check configurations before and after, when running with C(--diff).
  returned: when diff mode is enabled
  type: dict
"""

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import AnsibleRoute53Error
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import NAME_ARGUMENT_SPEC
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import apply_record_changes
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import change_record_sets
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import choose_owned_check
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import compare_health_check
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import create_health_check
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import default_record_type
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import delete_health_check
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import describe_health_check
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import desired_health_check_config
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import desired_record
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import endpoint_fields_changed
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import find_hosted_zone
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import find_owned_health_checks
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import get_health_check_observations
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import health_check_tags
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import inversion_sentence
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import keep_current_targets
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import list_record_sets
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import normalize_dns_name
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import plan_record_changes
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import plan_traffic
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import record_change_sentences
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import record_in_zone
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import route53_healthy
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import serving_shares
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import serving_site
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import status_word
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import tag_health_check
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import update_health_check
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import validate_request
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import wait_for_change

ROUTED_TYPES = ("A", "AAAA", "CNAME")


# ---------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------


def snake_records(records):
    """Return record sets in snake_case, as the module returns them."""
    return [camel_dict_to_snake_dict(r) for r in records]


def routed_records(records):
    """Return the record sets that carry a set identifier (failover or weighted), the ones this module owns."""
    return [r for r in records if r.get("SetIdentifier")]


def placeholder_check_id(site_name):
    """Return the id shown in check mode for a health check that would be created."""
    return f"(new health check for {site_name})"


def plan_health_checks(sites, kept, inverted):
    """Return per site the desired config and what to do with its check: create, recreate, update or none.

    ``kept`` maps site name to its existing owned check (or None); ``inverted`` to the planned Inverted flag.
    """
    plans = {}
    for site in sites:
        desired = desired_health_check_config(site, inverted[site["name"]])
        if desired is None:
            continue
        existing = kept.get(site["name"])
        if existing is None:
            plans[site["name"]] = {"action": "create", "desired": desired, "changes": {}, "reasons": []}
            continue
        action, changes, reasons = compare_health_check(existing["HealthCheckConfig"], desired)
        plans[site["name"]] = {"action": action, "desired": desired, "changes": changes, "reasons": reasons}
    return plans


def health_check_sentence(site_name, plan):
    """Return the sentence describing a health check creation, update or recreation, or None."""
    reasons = [r for r in plan["reasons"] if not r.startswith("Inverted ")]
    if plan["action"] == "create":
        return f"created health check of {site_name}"
    if plan["action"] == "recreate":
        return (
            f"recreated health check of {site_name}, because {'; '.join(reasons)} cannot be changed in place"
        )
    if plan["action"] == "update" and reasons:
        return f"updated health check of {site_name} ({'; '.join(reasons)})"
    return None


# ---------------------------------------------------------------------------
# Reads shared by both states
# ---------------------------------------------------------------------------


def resolve_zone(module, client):
    """Return ``(zone_id, record_name)`` or fail with one sentence."""
    zone, problem = find_hosted_zone(client, module.params["hosted_zone"], module.params["private_zone"])
    if problem:
        module.fail_json(msg=problem)
    record_name = normalize_dns_name(module.params["record_name"])
    if not record_in_zone(record_name, zone["Name"]):
        module.fail_json(
            msg=f"record_name '{module.params['record_name']}' is not inside hosted zone {zone['Name'].rstrip('.')}."
        )
    return zone["Id"].split("/")[-1], record_name


def measure_sites(client, sites, kept):
    """Return ``(facts, endpoint_health)`` per site from the current status of its kept health check."""
    facts = {}
    endpoint_health = {}
    for site in sites:
        name = site["name"]
        check = kept.get(name)
        if check is None:
            endpoint_health[name] = None
            continue
        facts[name] = describe_health_check(check, get_health_check_observations(client, check["Id"]))
        endpoint = facts[name]["endpoint_healthy"]
        desired = desired_health_check_config(site)
        if desired is not None and endpoint_fields_changed(check["HealthCheckConfig"], desired):
            # The check watched another endpoint, so its status says nothing about this one.
            endpoint = None
        endpoint_health[name] = endpoint
    return facts, endpoint_health


# ---------------------------------------------------------------------------
# States
# ---------------------------------------------------------------------------


def ensure_present(module, client):
    """Make the record sets and health checks of the name match the sites; return the module result."""
    params = module.params
    routing = params["routing"]
    zone_id, record_name = resolve_zone(module, client)
    # Reads only: sites given without a target keep their current record and check (see keep_current_targets).
    listed_all = list_record_sets(client, zone_id, record_name)
    owned = find_owned_health_checks(client, zone_id, record_name)
    referenced = {r["SetIdentifier"]: r.get("HealthCheckId") for r in routed_records(listed_all)}
    current = {name: choose_owned_check(checks, referenced.get(name)) for name, checks in owned.items()}
    sites, problem = keep_current_targets(
        params["sites"], routed_records(listed_all), {name: keep for name, (keep, _extras) in current.items()})
    if problem is None:
        problem = validate_request(routing, sites, params["active_site"], params["record_type"])
    if problem is None and params["wait_timeout"] < 1:
        problem = f"wait_timeout must be at least 1 second, got {params['wait_timeout']}."
    if problem:
        module.fail_json(msg=problem)
    record_type = params["record_type"] or default_record_type(sites)

    listed = [r for r in listed_all if r["Type"] == record_type]
    existing_records = routed_records(listed)
    # A simple record of the same name and type would make Route 53 reject the routed ones.
    simple_records = [r for r in listed if not r.get("SetIdentifier")]
    kept, stale = {}, []
    for site in sites:
        keep, extras = current.pop(site["name"], (None, []))
        stale.extend(extras)
        if site.get("health_check"):
            kept[site["name"]] = keep
        elif keep is not None:
            stale.append(keep)
    stale.extend(check for keep, extras in current.values() for check in [keep, *extras] if check is not None)

    facts, endpoint_health = measure_sites(client, sites, kept)
    has_check = {s["name"]: bool(s.get("health_check")) for s in sites}
    plan = plan_traffic(routing, sites, params["active_site"], endpoint_health, has_check, params["force"])
    if plan["error"]:
        module.fail_json(msg=plan["error"])
    check_plans = plan_health_checks(sites, kept, plan["inverted"])

    actions = list(plan["notes"])
    for site in sites:
        name = site["name"]
        if name in check_plans:
            sentence = health_check_sentence(name, check_plans[name])
            if sentence:
                actions.append(sentence)
        was_inverted = bool(kept.get(name) and kept[name]["HealthCheckConfig"].get("Inverted"))
        sentence = inversion_sentence(name, plan["reasons"][name], was_inverted, endpoint_health.get(name))
        if sentence:
            actions.append(sentence)
    for check in stale:
        actions.append(f"deleted health check {check['Id']}: no configured site uses it any more")

    # Health checks first, so the records can point at the new ones; un-inverting before inverting
    # keeps a site serving while the other one is drained.
    check_ids = {name: (kept[name]["Id"] if kept.get(name) else None) for name in check_plans}
    pending = set()
    replaced = []
    order = sorted(check_plans, key=lambda n: bool(check_plans[n]["desired"]["Inverted"]))
    for name in order:
        check_plan = check_plans[name]
        if check_plan["action"] in ("create", "recreate"):
            if module.check_mode:
                check_ids[name] = placeholder_check_id(name)
                pending.add(name)
                continue
            if check_plan["action"] == "recreate":
                replaced.append(kept[name])
            created = create_health_check(client, check_plan["desired"])
            tag_health_check(client, created["Id"], health_check_tags(zone_id, record_name, name))
            check_ids[name] = created["Id"]
        elif check_plan["action"] == "update" and not module.check_mode:
            update_health_check(client, check_ids[name], kept[name]["HealthCheckVersion"], check_plan["changes"])

    desired_records = [
        desired_record(site, record_name, record_type, routing, plan["weights"][site["name"]], check_ids.get(site["name"]))
        for site in sites
    ]
    changes = plan_record_changes(existing_records + simple_records, desired_records)
    actions.extend(record_change_sentences(changes, existing_records + simple_records))

    change_id = None
    records_after = apply_record_changes(existing_records, changes)
    if changes and not module.check_mode:
        change = change_record_sets(client, zone_id, changes, f"eks_ha.resilience.route53_failover {record_name}")
        change_id = change["Id"]
        if params["wait"]:
            wait_for_change(client, change_id, params["wait_timeout"])
        records_after = routed_records(list_record_sets(client, zone_id, record_name, record_type))
    if not module.check_mode:
        for check in replaced + stale:
            delete_health_check(client, check["Id"])

    health_checks, route_health = {}, {}
    for site in sites:
        name = site["name"]
        check_plan = check_plans.get(name)
        inverted = bool(check_plan and check_plan["desired"]["Inverted"])
        endpoint = endpoint_health.get(name)
        routes_healthy = route53_healthy(endpoint, inverted) if check_plan else True
        if check_plan:
            route_health[check_ids[name]] = routes_healthy
        health_checks[name] = {
            "id": None if name in pending else check_ids.get(name),
            "inverted": inverted,
            "disabled": False,
            "reported_status": facts[name]["reported_status"] if name in facts else "unknown",
            "endpoint_healthy": endpoint,
            "route53_status": status_word(routes_healthy),
        }

    changed = bool(changes or stale or any(p["action"] != "none" for p in check_plans.values()))
    result = {
        "changed": changed,
        "hosted_zone_id": zone_id,
        "record_type": record_type,
        "health_checks": health_checks,
        "records_before": snake_records(existing_records),
        "records_after": snake_records(records_after),
        "change_id": change_id,
        "serving_site": serving_site(records_after, route_health),
        "serving_shares": serving_shares(records_after, route_health),
        "actions": actions,
    }
    if module._diff:
        result["diff"] = {
            "before": {
                "records": snake_records(existing_records),
                "health_checks": {n: c["HealthCheckConfig"] for n, c in kept.items() if c is not None},
            },
            "after": {
                "records": snake_records(records_after),
                "health_checks": {n: p["desired"] for n, p in check_plans.items()},
            },
        }
    return result


def ensure_absent(module, client):
    """Delete the routed record sets of the name and the health checks owned for it; return the module result."""
    params = module.params
    record_type = params["record_type"] or (default_record_type(params["sites"]) if params["sites"] else None)
    zone_id, record_name = resolve_zone(module, client)

    existing = [
        r for r in routed_records(list_record_sets(client, zone_id, record_name, record_type)) if r["Type"] in ROUTED_TYPES
    ]
    owned = find_owned_health_checks(client, zone_id, record_name)
    checks = [check for site_checks in owned.values() for check in site_checks]
    changes = [{"Action": "DELETE", "ResourceRecordSet": r} for r in existing]
    actions = [f"deleted {r['Type']} record of {r['SetIdentifier']}" for r in existing]
    actions.extend(f"deleted health check {c['Id']} of {site}" for site, cs in sorted(owned.items()) for c in cs)

    change_id = None
    if not module.check_mode:
        if changes:
            change_id = change_record_sets(client, zone_id, changes, f"eks_ha.resilience.route53_failover {record_name}")["Id"]
            if params["wait"]:
                wait_for_change(client, change_id, params["wait_timeout"])
        for check in checks:
            delete_health_check(client, check["Id"])

    result = {
        "changed": bool(changes or checks),
        "hosted_zone_id": zone_id,
        "record_type": record_type,
        "health_checks": {},
        "records_before": snake_records(existing),
        "records_after": [],
        "change_id": change_id,
        "serving_site": None,
        "serving_shares": {},
        "actions": actions,
    }
    if module._diff:
        result["diff"] = {
            "before": {
                "records": snake_records(existing),
                "health_checks": {site: cs[0]["HealthCheckConfig"] for site, cs in owned.items()},
            },
            "after": {"records": [], "health_checks": {}},
        }
    return result


def main():
    health_check_options = dict(
        type=dict(type="str", default="HTTP", choices=["HTTP", "HTTPS", "TCP"]),
        port=dict(type="int"),
        path=dict(type="str"),
        fqdn=dict(type="str"),
        ip=dict(type="str"),
        request_interval=dict(type="int", default=30),
        failure_threshold=dict(type="int", default=3),
    )
    site_options = dict(
        name=dict(type="str", required=True),
        role=dict(type="str", choices=["primary", "secondary"]),
        weight=dict(type="int"),
        alias=dict(
            type="dict",
            options=dict(
                dns_name=dict(type="str"),
                hosted_zone_id=dict(type="str"),
                evaluate_target_health=dict(type="bool", default=True),
            ),
        ),
        cname=dict(type="dict", options=dict(value=dict(type="str"), ttl=dict(type="int", default=60))),
        health_check=dict(type="dict", options=health_check_options),
    )
    argument_spec = dict(
        **NAME_ARGUMENT_SPEC,
        record_type=dict(type="str", choices=["A", "AAAA", "CNAME"]),
        routing=dict(type="str", default="failover", choices=["failover", "weighted"]),
        sites=dict(type="list", elements="dict", options=site_options),
        active_site=dict(type="str"),
        force=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ("sites",))],
        supports_check_mode=True,
    )
    # Route 53 is global: any region works, so do not make the caller name one.
    client = module.client("route53", region=module.region or "us-east-1")
    try:
        if module.params["state"] == "present":
            result = ensure_present(module, client)
        else:
            result = ensure_absent(module, client)
    except AnsibleRoute53Error as e:
        module.fail_json_aws_error(e)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
