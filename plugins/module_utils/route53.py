# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Route 53 helpers for DNS failover of one application name across sites.

Two kinds of functions live here:

* thin wrappers, one per boto3 call, retried with ``AWSRetry.jittered_backoff``
  and raising ``AnsibleRoute53Error``;
* pure decision functions (plain values in, plain values out) that the modules
  use to decide what to change, and which are unit tested without AWS.
"""

import re
import uuid

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

TAG_ZONE = "eks-ha:zone"
TAG_RECORD = "eks-ha:record"
TAG_SITE = "eks-ha:site"

# Route 53 calls a health check healthy when more than 18% of its checkers report success.
HEALTHY_OBSERVATION_RATIO = 0.18

# Fields of a health check that UpdateHealthCheck cannot change in place.
IMMUTABLE_HEALTH_CHECK_FIELDS = ("Type", "RequestInterval")

# Fields UpdateHealthCheck changes in place; the resettable ones can also be removed.
UPDATABLE_HEALTH_CHECK_FIELDS = (
    "IPAddress",
    "FullyQualifiedDomainName",
    "ResourcePath",
    "Port",
    "FailureThreshold",
    "Inverted",
    "Disabled",
    "EnableSNI",
)
RESETTABLE_HEALTH_CHECK_FIELDS = ("FullyQualifiedDomainName", "ResourcePath")

# Fields that say which endpoint is checked; a change makes the last reported status meaningless.
ENDPOINT_HEALTH_CHECK_FIELDS = ("Type", "IPAddress", "FullyQualifiedDomainName", "Port", "ResourcePath")

# Route 53 also throttles with PriorRequestNotComplete while an earlier change is still applied.
_RETRY_CODES = ["PriorRequestNotComplete", "Throttling"]

TAGS_BATCH_SIZE = 10

# Options that name one application name in one hosted zone (doc fragment eks_ha.resilience.route53_name).
NAME_ARGUMENT_SPEC = dict(
    hosted_zone=dict(type="str", required=True),
    private_zone=dict(type="bool", default=False),
    record_name=dict(type="str", required=True),
)


class AnsibleRoute53Error(AnsibleAWSError):
    pass


class Route53ErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleRoute53Error

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(["NoSuchHealthCheck", "NoSuchHostedZone", "NoSuchChange"])


# ---------------------------------------------------------------------------
# boto3 wrappers: one call each
# ---------------------------------------------------------------------------


@Route53ErrorHandler.list_error_handler("get hosted zone")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def get_hosted_zone(client, zone_id):
    """Return the HostedZone dict for ``zone_id``, or None when it does not exist."""
    return client.get_hosted_zone(Id=zone_id)["HostedZone"]


@Route53ErrorHandler.list_error_handler("list hosted zones by name", [])
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def list_hosted_zones_named(client, zone_name):
    """Return every hosted zone whose name is exactly ``zone_name`` (public and private)."""
    wanted = normalize_dns_name(zone_name)
    zones = []
    params = {"DNSName": wanted}
    while True:
        page = client.list_hosted_zones_by_name(**params)
        for zone in page.get("HostedZones", []):
            if normalize_dns_name(zone["Name"]) != wanted:
                # Zones come back sorted by name, so nothing further can match.
                return zones
            zones.append(zone)
        if not page.get("IsTruncated"):
            return zones
        params = {"DNSName": page["NextDNSName"], "HostedZoneId": page["NextHostedZoneId"]}


@Route53ErrorHandler.list_error_handler("list resource record sets", [])
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def list_record_sets(client, zone_id, record_name, record_type=None):
    """Return the record sets named ``record_name`` (of ``record_type`` when given), in API form."""
    wanted = normalize_dns_name(record_name)
    params = {"HostedZoneId": zone_id, "StartRecordName": wanted}
    if record_type:
        params["StartRecordType"] = record_type
    found = []
    paginator = client.get_paginator("list_resource_record_sets")
    for page in paginator.paginate(**params):
        for record in page.get("ResourceRecordSets", []):
            if normalize_dns_name(record["Name"]) != wanted:
                # Records are sorted by name; the first other name ends our records.
                return found
            if record_type and record["Type"] != record_type:
                return found
            found.append(record)
    return found


@Route53ErrorHandler.common_error_handler("change resource record sets")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def change_record_sets(client, zone_id, changes, comment):
    """Apply ``changes`` as one atomic batch and return the ChangeInfo."""
    batch = {"Comment": comment, "Changes": changes}
    return client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch=batch)["ChangeInfo"]


@Route53ErrorHandler.common_error_handler("wait for the record change to be INSYNC")
def wait_for_change(client, change_id, timeout):
    """Block until GetChange reports ``change_id`` INSYNC, or raise after ``timeout`` seconds."""
    delay = max(1, min(10, timeout))
    attempts = max(1, timeout // delay)
    waiter = client.get_waiter("resource_record_sets_changed")
    waiter.wait(Id=change_id, WaiterConfig={"Delay": delay, "MaxAttempts": attempts})


@Route53ErrorHandler.common_error_handler("list health checks")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def list_health_checks(client):
    """Return every health check of the account."""
    paginator = client.get_paginator("list_health_checks")
    return paginator.paginate().build_full_result().get("HealthChecks", [])


@Route53ErrorHandler.common_error_handler("list tags for health checks")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def _list_tags_for_health_check_batch(client, check_ids):
    return client.list_tags_for_resources(ResourceType="healthcheck", ResourceIds=check_ids)["ResourceTagSets"]


def list_health_check_tags(client, check_ids):
    """Return ``{health_check_id: {tag: value}}`` for ``check_ids`` (ListTagsForResources takes 10 at a time)."""
    tags = {}
    for batch in chunks(list(check_ids), TAGS_BATCH_SIZE):
        for tag_set in _list_tags_for_health_check_batch(client, batch):
            tags[tag_set["ResourceId"]] = {t["Key"]: t["Value"] for t in tag_set.get("Tags", [])}
    return tags


@Route53ErrorHandler.list_error_handler("get health check")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def get_health_check(client, check_id):
    """Return the HealthCheck dict for ``check_id``, or None when it does not exist."""
    return client.get_health_check(HealthCheckId=check_id)["HealthCheck"]


@Route53ErrorHandler.list_error_handler("get health check status", [])
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def get_health_check_observations(client, check_id):
    """Return the checker observations of ``check_id`` ([] when the check does not exist)."""
    return client.get_health_check_status(HealthCheckId=check_id).get("HealthCheckObservations", [])


@Route53ErrorHandler.common_error_handler("create health check")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def _create_health_check(client, caller_reference, config):
    return client.create_health_check(CallerReference=caller_reference, HealthCheckConfig=config)["HealthCheck"]


def create_health_check(client, config):
    """Create a health check with a fresh CallerReference and return it."""
    # A retried call must reuse the same reference so it cannot create a second check.
    caller_reference = f"eks-ha-{uuid.uuid4().hex}"
    return _create_health_check(client, caller_reference, config)


@Route53ErrorHandler.common_error_handler("update health check")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def update_health_check(client, check_id, version, changes):
    """Apply ``changes`` (UpdateHealthCheck keyword arguments) to the check at ``version``."""
    return client.update_health_check(HealthCheckId=check_id, HealthCheckVersion=version, **changes)["HealthCheck"]


@Route53ErrorHandler.common_error_handler("tag health check")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def tag_health_check(client, check_id, tags):
    """Set ``tags`` on the health check."""
    client.change_tags_for_resource(
        ResourceType="healthcheck",
        ResourceId=check_id,
        AddTags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
    )


@Route53ErrorHandler.deletion_error_handler("delete health check")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def delete_health_check(client, check_id):
    """Delete the check; return False when it was already gone."""
    client.delete_health_check(HealthCheckId=check_id)
    return True


# ---------------------------------------------------------------------------
# Pure helpers: names and identities
# ---------------------------------------------------------------------------


def chunks(items, size):
    """Yield consecutive slices of ``items`` holding at most ``size`` entries."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def normalize_dns_name(name):
    """Return ``name`` lower-cased, with a trailing dot and ``*`` written as Route 53 returns it."""
    if name is None:
        return None
    name = name.strip().lower()
    if not name.endswith("."):
        name += "."
    return name.replace("*", "\\052")


def short_dns_name(name):
    """Return ``name`` normalized but without the trailing dot (for tags and messages)."""
    return normalize_dns_name(name).rstrip(".")


def parse_zone_reference(value):
    """Return ``("id", "Z...")`` when ``value`` is a zone id, else ``("name", "example.com.")``."""
    value = (value or "").strip()
    bare = value[len("/hostedzone/"):] if value.startswith("/hostedzone/") else value
    if re.fullmatch(r"[A-Z0-9]{1,32}", bare):
        return "id", bare
    return "name", normalize_dns_name(value)


def zone_id_of(zone):
    """Return the bare id (``Z...``) of a HostedZone dict."""
    return zone["Id"].split("/")[-1]


def record_in_zone(record_name, zone_name):
    """Tell whether ``record_name`` is the zone apex or a name below it."""
    record = normalize_dns_name(record_name)
    zone = normalize_dns_name(zone_name)
    return record == zone or record.endswith("." + zone)


def pick_zone(zones, private_zone):
    """Choose the one zone of the wanted visibility; return ``(zone, None)`` or ``(None, problem)``."""
    matching = [z for z in zones if bool(z.get("Config", {}).get("PrivateZone")) == bool(private_zone)]
    kind = "private" if private_zone else "public"
    if not matching:
        return None, f"no {kind} zone"
    if len(matching) > 1:
        ids = ", ".join(sorted(zone_id_of(z) for z in matching))
        return None, f"{len(matching)} {kind} zones ({ids})"
    return matching[0], None


def health_check_tags(zone_id, record_name, site_name):
    """Return the tags that identify the health check of ``site_name`` for this record."""
    record = short_dns_name(record_name)
    return {
        "Name": f"eks-ha {record} {site_name}",
        TAG_ZONE: zone_id,
        TAG_RECORD: record,
        TAG_SITE: site_name,
    }


def owned_health_checks(checks, tags_by_id, zone_id, record_name):
    """Return ``{site: [check, ...]}`` for the checks whose tags say this module owns them for the record."""
    record = short_dns_name(record_name)
    owned = {}
    for check in checks:
        tags = tags_by_id.get(check["Id"], {})
        if tags.get(TAG_ZONE) == zone_id and tags.get(TAG_RECORD) == record and tags.get(TAG_SITE):
            owned.setdefault(tags[TAG_SITE], []).append(check)
    return owned


def choose_owned_check(candidates, referenced_id=None):
    """Pick the check to keep among duplicates (the one the record uses, else the first); return (keep, extras)."""
    if not candidates:
        return None, []
    keep = candidates[0]
    for check in candidates:
        if check["Id"] == referenced_id:
            keep = check
    return keep, [c for c in candidates if c["Id"] != keep["Id"]]


# ---------------------------------------------------------------------------
# Pure helpers: input
# ---------------------------------------------------------------------------


def site_target_kind(site):
    """Return ``"alias"`` or ``"cname"`` for a site, or None when it does not have exactly one."""
    has_alias = bool(site.get("alias"))
    has_cname = bool(site.get("cname"))
    if has_alias == has_cname:
        return None
    return "alias" if has_alias else "cname"


def health_check_option(config):
    """Return a site's ``health_check`` option that describes an existing HealthCheckConfig."""
    option = {
        "type": config.get("Type"),
        "port": config.get("Port"),
        "path": config.get("ResourcePath"),
        "fqdn": config.get("FullyQualifiedDomainName"),
        "ip": config.get("IPAddress"),
        "request_interval": config.get("RequestInterval"),
        "failure_threshold": config.get("FailureThreshold"),
    }
    return {key: value for key, value in option.items() if value is not None}


def keep_current_targets(sites, existing_records, current_checks):
    """Fill in, for every site given without alias or cname, its current target and health check.

    A site named without a target means "this site as it is now": its record's alias or value and its
    health check's config are kept, so a planned move needs no lookup of the sites' endpoints (which may sit
    in the failed site's Region). ``current_checks`` maps site name to its existing check (or None).
    Returns ``(sites, problem)`` where problem is one sentence when a site has nothing to keep.
    """
    records = {r.get("SetIdentifier"): r for r in existing_records}
    completed = []
    for site in sites or []:
        if site.get("alias") or site.get("cname"):
            completed.append(site)
            continue
        record = records.get(site.get("name"))
        if record is None:
            return sites, (
                f"site '{site.get('name')}' gives neither alias nor cname, and the name has no record of that "
                "site to keep; give its target."
            )
        site = dict(site)
        if record.get("AliasTarget"):
            target = record["AliasTarget"]
            site["alias"] = {"dns_name": short_dns_name(target["DNSName"]), "hosted_zone_id": target["HostedZoneId"],
                             "evaluate_target_health": target.get("EvaluateTargetHealth", False)}
        else:
            values = [r["Value"] for r in record.get("ResourceRecords", [])]
            site["cname"] = {"value": values[0] if values else None, "ttl": record.get("TTL")}
        check = current_checks.get(site["name"])
        if not site.get("health_check") and check is not None:
            site["health_check"] = health_check_option(check["HealthCheckConfig"])
        completed.append(site)
    return completed, None


def default_record_type(sites):
    """Return A when every site uses alias, CNAME when every site uses cname, else None."""
    kinds = {site_target_kind(s) for s in sites}
    if kinds == {"alias"}:
        return "A"
    if kinds == {"cname"}:
        return "CNAME"
    return None


def validate_request(routing, sites, active_site=None, record_type=None):
    """Return the first problem with the requested sites as one sentence, or None when they are valid.

    ``sites`` are the module's ``sites`` option (dicts, unset keys may be None).
    """
    sites = sites or []
    # Weighted routing may start with one site (a cluster that a second one is weighed in beside later).
    least = 1 if routing == "weighted" else 2
    if len(sites) < least:
        return f"sites needs at least {least} {'entry' if least == 1 else 'entries'} with routing={routing}, got {len(sites)}."
    names = [s.get("name") for s in sites]
    for name in names:
        if not name:
            return "every entry of sites needs a name."
        if names.count(name) > 1:
            return f"sites names must be unique, but '{name}' appears {names.count(name)} times."

    for site in sites:
        name = site["name"]
        kind = site_target_kind(site)
        if kind is None:
            return f"site '{name}' must set exactly one of alias or cname."
        if kind == "alias":
            alias = site["alias"]
            if not alias.get("dns_name"):
                return f"site '{name}' alias needs dns_name (the DNS name of the target)."
            if not alias.get("hosted_zone_id"):
                return f"site '{name}' alias needs hosted_zone_id (the hosted zone of the alias target)."
        else:
            cname = site["cname"]
            if not cname.get("value"):
                return f"site '{name}' cname needs value (the name the record points to)."
            ttl = cname.get("ttl")
            if ttl is not None and not 0 <= ttl <= 2147483647:
                return f"site '{name}' cname.ttl must be between 0 and 2147483647, got {ttl}."
            if record_type and record_type != "CNAME":
                return f"site '{name}' uses cname, which needs record_type CNAME, got {record_type}."

        if routing == "failover":
            if site.get("weight") is not None:
                return f"site '{name}' sets weight, which is only allowed with routing=weighted."
            if site.get("role") not in ("primary", "secondary"):
                return f"site '{name}' needs role primary or secondary with routing=failover."
        else:
            if site.get("role") is not None:
                return f"site '{name}' sets role, which is only allowed with routing=failover."
            weight = site.get("weight")
            if weight is None:
                return f"site '{name}' needs a weight between 0 and 255 with routing=weighted."
            if not 0 <= weight <= 255:
                return f"site '{name}' weight must be between 0 and 255, got {weight}."

        problem = _validate_health_check(name, site.get("health_check"))
        if problem:
            return problem

    if record_type is None and default_record_type(sites) is None:
        return "record_type is required when some sites use alias and others use cname."

    if routing == "failover":
        primaries = [s["name"] for s in sites if s.get("role") == "primary"]
        secondaries = [s["name"] for s in sites if s.get("role") == "secondary"]
        if len(primaries) != 1 or len(secondaries) != 1:
            return (
                "routing=failover needs exactly one primary and one secondary site, got "
                f"{_count_role(primaries, 'primary', 'primaries')} and "
                f"{_count_role(secondaries, 'secondary', 'secondaries')}."
            )
        primary = [s for s in sites if s.get("role") == "primary"][0]
        if not primary.get("health_check"):
            return (
                f"site '{primary['name']}' is the primary of a failover record and needs a health_check, "
                "otherwise Route 53 never fails over."
            )
    elif not any(s.get("weight") for s in sites):
        return "routing=weighted needs at least one site with a weight above 0, but all weights are 0."

    if active_site is not None and active_site not in names:
        return f"active_site '{active_site}' is not one of the sites ({', '.join(names)})."
    return None


def _count_role(holders, singular, plural):
    """Return e.g. ``no primary``, ``1 primary (a)`` or ``2 primaries (a, b)``."""
    if not holders:
        return f"no {singular}"
    return f"{len(holders)} {singular if len(holders) == 1 else plural} ({', '.join(holders)})"


def _validate_health_check(site_name, check):
    """Return the first problem with one site's health_check option, or None."""
    if not check:
        return None
    prefix = f"site '{site_name}' health_check"
    check_type = check.get("type") or "HTTP"
    if check_type not in ("HTTP", "HTTPS", "TCP"):
        return f"{prefix}.type must be HTTP, HTTPS or TCP, got {check_type}."
    if check_type == "TCP" and check.get("path") is not None:
        return f"{prefix}.path is not allowed with type TCP."
    if check.get("path") is not None and not check["path"].startswith("/"):
        return f"{prefix}.path must start with '/', got '{check['path']}'."
    if check.get("fqdn") and check.get("ip"):
        return f"{prefix} sets both fqdn and ip; set only one of them."
    if check_type == "TCP" and check.get("port") is None:
        return f"{prefix}.port is required with type TCP."
    port = check.get("port")
    if port is not None and not 1 <= port <= 65535:
        return f"{prefix}.port must be between 1 and 65535, got {port}."
    interval = check.get("request_interval")
    if interval is not None and interval not in (10, 30):
        return f"{prefix}.request_interval must be 10 or 30, got {interval}."
    threshold = check.get("failure_threshold")
    if threshold is not None and not 1 <= threshold <= 10:
        return f"{prefix}.failure_threshold must be between 1 and 10, got {threshold}."
    return None


# ---------------------------------------------------------------------------
# Pure helpers: desired state
# ---------------------------------------------------------------------------


def site_target_name(site):
    """Return the DNS name a site's record points to (alias dns_name or cname value), without trailing dot."""
    if site_target_kind(site) == "alias":
        return site["alias"]["dns_name"].rstrip(".")
    return site["cname"]["value"].rstrip(".")


def desired_health_check_config(site, inverted=False):
    """Return the HealthCheckConfig (API form) the site's ``health_check`` asks for, or None without one."""
    check = site.get("health_check")
    if not check:
        return None
    check_type = check.get("type") or "HTTP"
    port = check.get("port")
    if port is None:
        port = 443 if check_type == "HTTPS" else 80
    config = {
        "Type": check_type,
        "Port": port,
        "RequestInterval": check.get("request_interval") or 30,
        "FailureThreshold": check.get("failure_threshold") or 3,
        "Inverted": bool(inverted),
        "Disabled": False,
    }
    if check.get("ip"):
        config["IPAddress"] = check["ip"]
    else:
        config["FullyQualifiedDomainName"] = (check.get("fqdn") or site_target_name(site)).rstrip(".")
    if check_type != "TCP":
        config["ResourcePath"] = check.get("path") or "/"
    if check_type == "HTTPS":
        config["EnableSNI"] = True
    return config


def _comparable(field, value):
    """Return a health check field value in the form used for comparison."""
    if field == "FullyQualifiedDomainName" and value:
        return value.rstrip(".").lower()
    if field in ("Inverted", "Disabled", "EnableSNI"):
        return bool(value)
    return value


def compare_health_check(existing, desired):
    """Compare an existing HealthCheckConfig to the desired one.

    Returns ``(action, changes, reasons)`` where ``action`` is ``"none"``, ``"update"`` or
    ``"recreate"``, ``changes`` holds the UpdateHealthCheck keyword arguments (without id
    and version) and ``reasons`` names each field that differs as ``"Field old -> new"``.
    """
    reasons = []
    for field in IMMUTABLE_HEALTH_CHECK_FIELDS:
        if existing.get(field) != desired.get(field):
            reasons.append(f"{field} {existing.get(field)} -> {desired.get(field)}")
    if existing.get("IPAddress") and not desired.get("IPAddress"):
        # UpdateHealthCheck can set an IP address but never remove one.
        reasons.append(f"IPAddress {existing['IPAddress']} -> none")
    if reasons:
        return "recreate", {}, reasons

    changes = {}
    resets = []
    for field in UPDATABLE_HEALTH_CHECK_FIELDS:
        old = _comparable(field, existing.get(field))
        if field not in desired:
            if field in RESETTABLE_HEALTH_CHECK_FIELDS and old:
                resets.append(field)
                reasons.append(f"{field} {old} -> none")
            continue
        new = _comparable(field, desired[field])
        if old != new:
            changes[field] = desired[field]
            reasons.append(f"{field} {old} -> {new}")
    if resets:
        changes["ResetElements"] = resets
    if not changes:
        return "none", {}, []
    return "update", changes, reasons


def endpoint_fields_changed(existing, desired):
    """Tell whether the checked endpoint differs, which makes the reported status stale."""
    for field in ENDPOINT_HEALTH_CHECK_FIELDS:
        old, new = existing.get(field), desired.get(field)
        if isinstance(old, str) and isinstance(new, str):
            old, new = old.rstrip(".").lower(), new.rstrip(".").lower()
        if old != new:
            return True
    return False


def desired_record(site, record_name, record_type, routing, weight=None, health_check_id=None):
    """Return the ResourceRecordSet (API form) for one site."""
    record = {
        "Name": normalize_dns_name(record_name),
        "Type": record_type,
        "SetIdentifier": site["name"],
    }
    if routing == "failover":
        record["Failover"] = site["role"].upper()
    else:
        record["Weight"] = site["weight"] if weight is None else weight
    if site_target_kind(site) == "alias":
        alias = site["alias"]
        evaluate = alias.get("evaluate_target_health")
        record["AliasTarget"] = {
            "HostedZoneId": alias["hosted_zone_id"],
            "DNSName": normalize_dns_name(alias["dns_name"]),
            "EvaluateTargetHealth": True if evaluate is None else bool(evaluate),
        }
    else:
        cname = site["cname"]
        ttl = cname.get("ttl")
        record["TTL"] = 60 if ttl is None else ttl
        record["ResourceRecords"] = [{"Value": cname["value"]}]
    if health_check_id:
        record["HealthCheckId"] = health_check_id
    return record


def _record_key(record):
    """Return a comparable form of a ResourceRecordSet holding only what this module manages."""
    alias = record.get("AliasTarget")
    if alias:
        alias = (
            alias.get("HostedZoneId"),
            normalize_dns_name(alias.get("DNSName")),
            bool(alias.get("EvaluateTargetHealth")),
        )
    values = tuple(sorted(r["Value"].rstrip(".").lower() for r in record.get("ResourceRecords") or []))
    weight = record.get("Weight")
    return (
        normalize_dns_name(record.get("Name")),
        record.get("Type"),
        record.get("SetIdentifier"),
        record.get("Failover"),
        None if weight is None else int(weight),
        record.get("HealthCheckId"),
        None if alias else record.get("TTL"),
        values,
        alias,
    )


def records_equal(existing, desired):
    """Tell whether two ResourceRecordSets are the same for everything this module manages."""
    return _record_key(existing) == _record_key(desired)


def plan_record_changes(existing, desired):
    """Return the Changes of the one ChangeResourceRecordSets batch that turns ``existing`` into ``desired``.

    ``existing`` are the record sets of the name and type; ``desired`` the wanted ones. Equal records are
    left alone, changed or missing ones are UPSERTed, and every other record set of the same name and type
    (stale set identifiers, or a simple record that would clash) is DELETEd.
    """
    wanted = {r["SetIdentifier"]: r for r in desired}
    changes = []
    for record in existing:
        ident = record.get("SetIdentifier")
        if ident not in wanted:
            changes.append({"Action": "DELETE", "ResourceRecordSet": record})
    current = {r.get("SetIdentifier"): r for r in existing}
    for ident, record in wanted.items():
        if ident in current and records_equal(current[ident], record):
            continue
        changes.append({"Action": "UPSERT", "ResourceRecordSet": record})
    return changes


def apply_record_changes(existing, changes):
    """Return the record sets that result from applying ``changes`` to ``existing`` (used for check mode)."""
    result = {(r.get("SetIdentifier"), r["Type"]): r for r in existing}
    for change in changes:
        record = change["ResourceRecordSet"]
        key = (record.get("SetIdentifier"), record["Type"])
        if change["Action"] == "DELETE":
            result.pop(key, None)
        else:
            result[key] = record
    return sorted(result.values(), key=lambda r: (r["Type"], r.get("SetIdentifier") or ""))


# ---------------------------------------------------------------------------
# Pure helpers: health
# ---------------------------------------------------------------------------


def reported_healthy(observations):
    """Apply Route 53's rule to checker observations: healthy when more than 18% report Success.

    Returns None when there are no observations yet (a new check).
    """
    if not observations:
        return None
    successes = 0
    for observation in observations:
        status = (observation.get("StatusReport") or {}).get("Status") or ""
        if status.startswith("Success"):
            successes += 1
    return successes / len(observations) > HEALTHY_OBSERVATION_RATIO


def endpoint_healthy(reported, disabled=False):
    """Return the health of the endpoint behind a check: what the checkers' probes observe.

    The observations describe the endpoint itself (an inverted check still reports ``Success`` for a
    reachable endpoint); ``Inverted`` only flips the status Route 53 routes on. Returns None (unknown)
    when there are no observations yet or the check is disabled, because a disabled check stops checking.
    """
    if disabled or reported is None:
        return None
    return bool(reported)


def route53_healthy(endpoint, inverted, disabled=False):
    """Return the status Route 53 routes on for a check whose endpoint health is ``endpoint``.

    Disabled checks count as healthy and a check that has not reported yet counts as healthy (Route 53
    starts new checks healthy); in both cases ``Inverted`` still flips the result.
    """
    if disabled:
        return not inverted
    if endpoint is None:
        return not inverted
    return bool(endpoint) != bool(inverted)


def status_word(value):
    """Return ``healthy``, ``unhealthy`` or ``unknown`` for a tri-state health value."""
    if value is None:
        return "unknown"
    return "healthy" if value else "unhealthy"


# ---------------------------------------------------------------------------
# Pure helpers: what Route 53 answers
# ---------------------------------------------------------------------------


def _record_is_healthy(record, health):
    """A record without a health check is healthy; alias targets are assumed healthy."""
    check_id = record.get("HealthCheckId")
    if not check_id:
        return True
    return bool(health.get(check_id, True))


def serving_shares(records, health):
    """Return ``{set_identifier: percent}`` of the answers Route 53 gives for the records right now.

    ``records`` are the ResourceRecordSets (API form) of one name and type using failover or weighted
    routing; ``health`` maps health check id to the status Route 53 routes on (True = healthy). Alias
    targets with EvaluateTargetHealth are treated as healthy.

    Failover: the primary when healthy, else the secondary when healthy, else the primary.
    Weighted: healthy records with weight above 0 share in proportion to weight; when there are none,
    healthy zero-weight records share equally; when every record is unhealthy all count as healthy.
    """
    routed = [r for r in records if r.get("SetIdentifier")]
    if not routed:
        return {}
    failover = [r for r in routed if r.get("Failover")]
    if failover:
        primary = [r for r in failover if r["Failover"] == "PRIMARY"]
        secondary = [r for r in failover if r["Failover"] == "SECONDARY"]
        chosen = (primary or secondary)[0]
        for record in primary + secondary:
            if _record_is_healthy(record, health):
                chosen = record
                break
        return {r["SetIdentifier"]: (100.0 if r is chosen else 0.0) for r in failover}

    weighted = [r for r in routed if r.get("Weight") is not None]
    healthy = [r for r in weighted if _record_is_healthy(r, health)]
    if not healthy:
        # Route 53 answers as if every record were healthy when none is.
        healthy = weighted
    positive = [r for r in healthy if int(r["Weight"]) > 0]
    if positive:
        total = sum(int(r["Weight"]) for r in positive)
        shares = {r["SetIdentifier"]: round(100.0 * int(r["Weight"]) / total, 2) for r in positive}
    else:
        shares = {r["SetIdentifier"]: round(100.0 / len(healthy), 2) for r in healthy}
    return {r["SetIdentifier"]: shares.get(r["SetIdentifier"], 0.0) for r in weighted}


def serving_site(records, health):
    """Return the set identifier Route 53 answers with for the records (the largest share when weighted).

    Ties between weighted records go to the first in name order; None when there are no records.
    """
    shares = serving_shares(records, health)
    if not shares:
        return None
    return sorted(shares.items(), key=lambda item: (-item[1], item[0]))[0][0]


# ---------------------------------------------------------------------------
# Pure helpers: planned moves
# ---------------------------------------------------------------------------

# Why a site's health check gets the Inverted value it gets.
DRAIN = "drain"  # drained by inversion: its endpoint is healthy
ALREADY_DRAINED = "already_drained"  # would be drained, but its endpoint is failing
UNKNOWN = "unknown"  # would be drained, but its endpoint health is not known
NO_CHECK = "no_check"  # would be drained, but it has no health check to invert
SERVE = "serve"  # not drained


def plan_traffic(routing, sites, active_site, endpoint_health, has_check, force=False):
    """Decide the Inverted flag of every site's health check and every site's weight.

    ``sites`` are validated ``sites`` entries; ``endpoint_health`` maps site name to True, False or
    None (unknown) for its endpoint; ``has_check`` maps site name to whether it has a health check.

    Returns a dict with ``inverted`` (site -> bool), ``weights`` (site -> int or None), ``reasons``
    (site -> one of DRAIN, ALREADY_DRAINED, UNKNOWN, NO_CHECK, SERVE), ``notes`` (sentences about
    the move as a whole) and ``error`` (one sentence when the move is refused, else None). A site
    is inverted only when its endpoint is known to be healthy, so a failing site never looks healthy.
    """
    names = [s["name"] for s in sites]
    plan = {
        "inverted": {name: False for name in names},
        "weights": {s["name"]: s.get("weight") for s in sites},
        "reasons": {name: SERVE for name in names},
        "notes": [],
        "error": None,
    }

    if active_site is not None:
        plan["error"] = _refuse_move(active_site, endpoint_health.get(active_site), has_check.get(active_site), force)
        if plan["error"]:
            return plan
        if has_check.get(active_site) and endpoint_health.get(active_site) is not True:
            plan["notes"].append(
                f"moving to {active_site} although its endpoint is {status_word(endpoint_health.get(active_site))}, "
                "because force=true"
            )

    if active_site is None:
        return plan

    if routing == "weighted":
        top = max(s.get("weight") or 0 for s in sites)
        for name in names:
            plan["weights"][name] = top if name == active_site else 0
        return plan

    # Drain whichever site Route 53 would still answer with, until that is the active site or
    # nothing more can be drained safely.
    roles = {s["name"]: s["role"] for s in sites}
    while True:
        serving = _failover_serving(roles, _planned_route_health(names, plan["inverted"], endpoint_health, has_check))
        if serving == active_site or plan["reasons"][serving] != SERVE:
            break
        if not has_check.get(serving):
            plan["reasons"][serving] = NO_CHECK
        elif endpoint_health.get(serving) is True:
            plan["reasons"][serving] = DRAIN
            plan["inverted"][serving] = True
        elif endpoint_health.get(serving) is False:
            plan["reasons"][serving] = ALREADY_DRAINED
        else:
            plan["reasons"][serving] = UNKNOWN

    for name in names:
        # A failing site that is not the active one is drained by its failure; say so, never invert it.
        if name != active_site and has_check.get(name) and endpoint_health.get(name) is False:
            plan["reasons"][name] = ALREADY_DRAINED
    if serving != active_site:
        plan["notes"].append(
            f"Route 53 will still answer with {serving}: {active_site} does not look healthy to Route 53 "
            f"and {serving} could not be drained further"
        )
    return plan


def _refuse_move(active_site, health, has_check, force):
    """Return the sentence refusing a move to an active site that is not known healthy, or None."""
    if not has_check or health is True or force:
        return None
    if health is None:
        return (
            f"active_site '{active_site}' has no current health check result, so it cannot be confirmed healthy; "
            "run without active_site until its check has reported, or set force=true."
        )
    return (
        f"active_site '{active_site}' is unhealthy (its endpoint fails its health check); "
        "repair it first or set force=true to move traffic to it anyway."
    )


def _planned_route_health(names, inverted, endpoint_health, has_check):
    """Return site -> the status Route 53 would route on with the given inversions."""
    return {
        name: route53_healthy(endpoint_health.get(name), inverted[name]) if has_check.get(name) else True
        for name in names
    }


def _failover_serving(roles, route_health):
    """Return the site a failover pair answers with for ``route_health`` (site -> healthy)."""
    primary = [n for n, r in roles.items() if r == "primary"][0]
    secondary = [n for n, r in roles.items() if r == "secondary"][0]
    if route_health[primary]:
        return primary
    if route_health[secondary]:
        return secondary
    return primary


def inversion_sentence(site_name, reason, was_inverted, endpoint):
    """Return the sentence saying what happened to a site's inversion and why, or None when there is nothing to say."""
    if reason == DRAIN:
        if was_inverted:
            return f"kept health check of {site_name} inverted to drain it (endpoint healthy)"
        return f"inverted health check of {site_name} to drain it (endpoint healthy)"
    if reason == ALREADY_DRAINED:
        if was_inverted:
            return (
                f"un-inverted health check of {site_name}: its endpoint is failing, so it is already drained "
                "and inverting would send traffic back to it"
            )
        return f"left {site_name} un-inverted: its endpoint is failing, so it is already drained"
    if reason == UNKNOWN:
        verb = "un-inverted health check of" if was_inverted else "left"
        tail = "" if was_inverted else " un-inverted"
        return (
            f"{verb} {site_name}{tail}: its endpoint health is unknown, and inverting a failing endpoint "
            "would make it look healthy"
        )
    if reason == NO_CHECK:
        return f"could not drain {site_name}: it has no health check to invert"
    if was_inverted:
        if endpoint is False:
            return f"un-inverted health check of {site_name}: its endpoint is failing, so inverting would make it look healthy"
        return f"un-inverted health check of {site_name} so it serves again"
    return None


def _describe_target(record):
    if record.get("AliasTarget"):
        return "alias " + record["AliasTarget"].get("DNSName", "").rstrip(".")
    return ", ".join(r["Value"] for r in record.get("ResourceRecords") or [])


def _describe_policy(record):
    if record.get("Failover"):
        return record["Failover"].lower()
    if record.get("Weight") is not None:
        return f"weight {record['Weight']}"
    return "simple"


def record_change_sentences(changes, existing):
    """Return one sentence per change of a planned record batch, naming what differs."""
    current = {(r.get("SetIdentifier"), r["Type"]): r for r in existing}
    sentences = []
    for change in changes:
        record = change["ResourceRecordSet"]
        ident = record.get("SetIdentifier")
        label = f"{record['Type']} record of {ident}" if ident else f"simple {record['Type']} record"
        if change["Action"] == "DELETE":
            sentences.append(f"deleted {label}: it is not one of the configured sites")
            continue
        before = current.get((ident, record["Type"]))
        if before is None:
            sentences.append(f"created {label} ({_describe_policy(record)}, {_describe_target(record)})")
            continue
        differences = []
        for what, describe in (
            ("routing", _describe_policy),
            ("target", _describe_target),
            ("health check", lambda r: r.get("HealthCheckId") or "none"),
            ("ttl", lambda r: str(r.get("TTL"))),
            ("evaluate_target_health", lambda r: str((r.get("AliasTarget") or {}).get("EvaluateTargetHealth"))),
        ):
            old, new = describe(before), describe(record)
            if old != new:
                differences.append(f"{what} {old} -> {new}")
        sentences.append(f"updated {label} ({'; '.join(differences) or 'normalized'})")
    return sentences


# ---------------------------------------------------------------------------
# Composite reads used by both modules
# ---------------------------------------------------------------------------


def find_hosted_zone(client, reference, private_zone=False):
    """Return ``(zone, None)`` for a zone id or name, or ``(None, sentence)`` when it cannot be found."""
    kind, value = parse_zone_reference(reference)
    if kind == "id":
        zone = get_hosted_zone(client, value)
        if zone is None:
            return None, f"hosted_zone '{reference}' was not found: no hosted zone has id {value}."
        return zone, None
    zone, problem = pick_zone(list_hosted_zones_named(client, value), private_zone)
    if problem:
        return None, (
            f"hosted_zone '{reference}' matches {problem} named {value.rstrip('.')}; "
            "pass an existing zone name with the right private_zone, or the zone id."
        )
    return zone, None


def find_owned_health_checks(client, zone_id, record_name):
    """Return ``{site: [health check, ...]}`` of the checks tagged as this record's, for the zone."""
    checks = list_health_checks(client)
    tags = list_health_check_tags(client, [c["Id"] for c in checks])
    return owned_health_checks(checks, tags, zone_id, record_name)


def describe_health_check(check, observations):
    """Return the facts the modules report about one health check (plain values)."""
    config = check.get("HealthCheckConfig", {})
    inverted = bool(config.get("Inverted"))
    disabled = bool(config.get("Disabled"))
    reported = reported_healthy(observations)
    endpoint = endpoint_healthy(reported, disabled)
    return {
        "id": check["Id"],
        "inverted": inverted,
        "disabled": disabled,
        "reported_status": status_word(reported),
        "endpoint_healthy": endpoint,
        "route53_status": status_word(route53_healthy(endpoint, inverted, disabled)),
        "config": config,
    }
