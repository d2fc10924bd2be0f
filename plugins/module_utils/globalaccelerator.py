# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""AWS Global Accelerator helpers: one accelerator, one listener, one endpoint group per Region.

As in ``route53.py``, two kinds of functions live here:

* thin wrappers, one per boto3 call, retried with ``AWSRetry.jittered_backoff``
  and raising ``AnsibleGlobalAcceleratorError``;
* pure decision functions (plain values in, plain values out): validation, what to change, and which
  Region serves under the service's routing rules. They are unit tested without AWS.

The service's rules this module relies on (AWS Global Accelerator developer guide):

* the control API lives in us-west-2, whatever Regions the endpoints are in;
* within a listener, a client goes to the nearest endpoint group, which takes the share of traffic its
  traffic dial allows; the rest goes to the next group;
* failover ignores traffic dials: when a group has no healthy endpoint, its traffic goes to a group with
  healthy endpoints, even one dialled to 0%; when no endpoint is healthy anywhere, the accelerator fails
  open and sends traffic to every endpoint;
* within a group traffic is split by endpoint weight (0-255, 0 sends nothing);
* dial and weight changes apply to new connections only; existing connections stay until they close;
* endpoints in Local Zones are not supported.
"""

import uuid

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

CONTROL_REGION = "us-west-2"
# Hosted zone id of every accelerator's DNS name, for Route 53 alias records.
HOSTED_ZONE_ID = "Z2BJ6XQ5FK7U4H"
DEFAULT_WEIGHT = 128
DEFAULT_DIAL = 100.0
DIAL_RANGE = (0, 100)
WEIGHT_RANGE = (0, 255)
THRESHOLD_RANGE = (1, 10)
HEALTH_CHECK_INTERVALS = (10, 30)
HEALTHY = "HEALTHY"

# Regions where Global Accelerator can have an endpoint group (the standard partition's commercial Regions).
REGIONS = (
    "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
    "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
    "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "sa-east-1",
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
)

# Endpoint group options -> UpdateEndpointGroup fields, compared only when the user sets them.
HEALTH_CHECK_FIELDS = (
    ("health_check_protocol", "HealthCheckProtocol"),
    ("health_check_port", "HealthCheckPort"),
    ("health_check_path", "HealthCheckPath"),
    ("health_check_interval", "HealthCheckIntervalSeconds"),
    ("threshold_count", "ThresholdCount"),
)

_RETRY_CODES = ["ThrottlingException", "TransactionInProgressException"]

# A listener's port range, as both modules take it.
PORT_RANGE_OPTIONS = dict(from_port=dict(type="int", required=True), to_port=dict(type="int"))


class AnsibleGlobalAcceleratorError(AnsibleAWSError):
    pass


class GlobalAcceleratorErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleGlobalAcceleratorError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(["AcceleratorNotFoundException", "ListenerNotFoundException",
                                    "EndpointGroupNotFoundException"])


# ---------------------------------------------------------------------------
# boto3 wrappers: one call each
# ---------------------------------------------------------------------------


def _paginate(client, operation, key, **params):
    pages = client.get_paginator(operation).paginate(**params)
    return pages.build_full_result().get(key, [])


@GlobalAcceleratorErrorHandler.common_error_handler("list accelerators")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def list_accelerators(client):
    return _paginate(client, "list_accelerators", "Accelerators")


@GlobalAcceleratorErrorHandler.list_error_handler("describe accelerator")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def describe_accelerator(client, arn):
    """The accelerator, or None once it no longer exists."""
    return client.describe_accelerator(AcceleratorArn=arn)["Accelerator"]


@GlobalAcceleratorErrorHandler.common_error_handler("create accelerator")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def _create_accelerator(client, params):
    return client.create_accelerator(**params)["Accelerator"]


def create_accelerator(client, name, ip_address_type, enabled, tags):
    # A retried call reuses the same token, so it cannot create a second accelerator.
    params = dict(Name=name, IpAddressType=ip_address_type, Enabled=enabled, IdempotencyToken=str(uuid.uuid4()),
                  Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())])
    return _create_accelerator(client, params)


@GlobalAcceleratorErrorHandler.common_error_handler("update accelerator")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def update_accelerator(client, arn, changes):
    return client.update_accelerator(AcceleratorArn=arn, **changes)["Accelerator"]


@GlobalAcceleratorErrorHandler.common_error_handler("delete accelerator")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def delete_accelerator(client, arn):
    client.delete_accelerator(AcceleratorArn=arn)


@GlobalAcceleratorErrorHandler.common_error_handler("list tags of the accelerator")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def list_tags(client, arn):
    return {t["Key"]: t["Value"] for t in client.list_tags_for_resource(ResourceArn=arn).get("Tags", [])}


@GlobalAcceleratorErrorHandler.common_error_handler("tag the accelerator")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def tag_resource(client, arn, tags):
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())])


@GlobalAcceleratorErrorHandler.common_error_handler("untag the accelerator")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def untag_resource(client, arn, keys):
    client.untag_resource(ResourceArn=arn, TagKeys=sorted(keys))


@GlobalAcceleratorErrorHandler.common_error_handler("list listeners")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def list_listeners(client, accelerator_arn):
    return _paginate(client, "list_listeners", "Listeners", AcceleratorArn=accelerator_arn)


@GlobalAcceleratorErrorHandler.common_error_handler("create listener")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def _create_listener(client, params):
    return client.create_listener(**params)["Listener"]


def create_listener(client, accelerator_arn, listener):
    params = dict(AcceleratorArn=accelerator_arn, IdempotencyToken=str(uuid.uuid4()), **listener)
    return _create_listener(client, params)


@GlobalAcceleratorErrorHandler.common_error_handler("update listener")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def update_listener(client, arn, changes):
    return client.update_listener(ListenerArn=arn, **changes)["Listener"]


@GlobalAcceleratorErrorHandler.common_error_handler("delete listener")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def delete_listener(client, arn):
    client.delete_listener(ListenerArn=arn)


@GlobalAcceleratorErrorHandler.common_error_handler("list endpoint groups")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def list_endpoint_groups(client, listener_arn):
    return _paginate(client, "list_endpoint_groups", "EndpointGroups", ListenerArn=listener_arn)


@GlobalAcceleratorErrorHandler.common_error_handler("create endpoint group")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def _create_endpoint_group(client, params):
    return client.create_endpoint_group(**params)["EndpointGroup"]


def create_endpoint_group(client, listener_arn, region, fields):
    params = dict(ListenerArn=listener_arn, EndpointGroupRegion=region, IdempotencyToken=str(uuid.uuid4()), **fields)
    return _create_endpoint_group(client, params)


@GlobalAcceleratorErrorHandler.common_error_handler("update endpoint group")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def update_endpoint_group(client, arn, changes):
    return client.update_endpoint_group(EndpointGroupArn=arn, **changes)["EndpointGroup"]


@GlobalAcceleratorErrorHandler.common_error_handler("delete endpoint group")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_RETRY_CODES)
def delete_endpoint_group(client, arn):
    client.delete_endpoint_group(EndpointGroupArn=arn)


@GlobalAcceleratorErrorHandler.common_error_handler("describe load balancers")
@AWSRetry.jittered_backoff()
def describe_load_balancers(elbv2, arns):
    return elbv2.describe_load_balancers(LoadBalancerArns=list(arns))["LoadBalancers"]


@GlobalAcceleratorErrorHandler.common_error_handler("describe availability zones")
@AWSRetry.jittered_backoff()
def zone_types(ec2, zone_names):
    """{zone name: zone type} (availability-zone, local-zone, wavelength-zone) for ``zone_names``."""
    zones = ec2.describe_availability_zones(ZoneNames=sorted(zone_names), AllAvailabilityZones=True)
    return {z["ZoneName"]: z.get("ZoneType", "availability-zone") for z in zones["AvailabilityZones"]}


def find_accelerator(client, name):
    """The accelerators named ``name`` (there should be at most one)."""
    return [a for a in list_accelerators(client) if a["Name"] == name]


def describe_state(client, accelerator, listener_port_ranges=None):
    """The accelerator, its managed listener (None when it has none) and that listener's endpoint groups.

    With ``listener_port_ranges`` the listener is the one serving exactly those ranges; without it the
    accelerator's only listener. Raises ValueError with a sentence when that choice is ambiguous.
    """
    listeners = list_listeners(client, accelerator["AcceleratorArn"])
    listener = choose_listener(listeners, listener_port_ranges)
    groups = list_endpoint_groups(client, listener["ListenerArn"]) if listener else []
    return {"accelerator": accelerator, "listener": listener, "listeners": listeners, "endpoint_groups": groups}


def wait_deployed(client, arn, timeout, sleep):
    """Poll until the accelerator is DEPLOYED; return it, or raise after ``timeout`` seconds."""
    waited = 0
    delay = 1
    while True:
        accelerator = describe_accelerator(client, arn)
        if accelerator is None or accelerator["Status"] == "DEPLOYED":
            return accelerator
        if waited >= timeout:
            raise AnsibleGlobalAcceleratorError(
                message=f"Accelerator {arn} was still {accelerator['Status']} after {timeout} s (wait_timeout).")
        sleep(delay)
        waited += delay
        delay = min(delay * 2, 10)


# ---------------------------------------------------------------------------
# Pure decisions
# ---------------------------------------------------------------------------


def port_ranges_api(port_ranges):
    """Module port ranges ({from_port, to_port}) in API form, sorted."""
    ranges = [{"FromPort": r["from_port"], "ToPort": r["to_port"] if r.get("to_port") else r["from_port"]}
              for r in port_ranges]
    return sorted(ranges, key=lambda r: (r["FromPort"], r["ToPort"]))


def choose_listener(listeners, port_ranges=None):
    """The listener to manage: the one with exactly ``port_ranges`` (API form), else the only one."""
    if port_ranges is not None:
        wanted = sorted((r["FromPort"], r["ToPort"]) for r in port_ranges)
        for listener in listeners:
            if sorted((r["FromPort"], r["ToPort"]) for r in listener["PortRanges"]) == wanted:
                return listener
        return None
    if len(listeners) > 1:
        raise ValueError(f"The accelerator has {len(listeners)} listeners; name the one to use with listener.port_ranges.")
    return listeners[0] if listeners else None


def endpoint_kind(endpoint_id):
    """What an endpoint id names: elb, instance, eip, or None when it is none of them."""
    if endpoint_id.startswith("arn:") and ":elasticloadbalancing:" in endpoint_id:
        return "elb"
    if endpoint_id.startswith("i-"):
        return "instance"
    if endpoint_id.startswith("eipalloc-"):
        return "eip"
    return None


def elb_region(arn):
    """The Region of a load balancer ARN (its fourth field)."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 else None


def _outside(value, bounds):
    return value is not None and not bounds[0] <= value <= bounds[1]


def validate_request(endpoint_groups, active_region=None, traffic_dials=None, listener=None):
    """The first problem with the request, as one sentence naming the option, or None.

    ``endpoint_groups`` are the module's option dicts (None when the option is not given);
    ``traffic_dials`` maps Region -> percentage.
    """
    groups = endpoint_groups or []
    regions = [g["region"] for g in groups]
    for region in regions + ([active_region] if active_region else []) + sorted(traffic_dials or {}):
        if region not in REGIONS:
            return f"'{region}' is not a Region Global Accelerator serves; use one of {', '.join(REGIONS)}."
    duplicates = sorted({r for r in regions if regions.count(r) > 1})
    if duplicates:
        return (f"endpoint_groups name Region {', '.join(duplicates)} more than once; a listener has one endpoint "
                "group per Region, so list each Region once.")
    dials = dict(traffic_dials or {})
    dials.update({g["region"]: g["traffic_dial"] for g in groups if g.get("traffic_dial") is not None})
    for region, dial in sorted(dials.items()):
        if _outside(dial, DIAL_RANGE):
            return f"The traffic dial of {region} is {dial:g}; traffic dials are percentages from 0 to 100."
    for group in groups:
        problem = _validate_group(group)
        if problem:
            return problem
    if groups and active_region and active_region not in regions:
        return f"active_region {active_region} is not one of the endpoint_groups' Regions ({', '.join(regions)})."
    if groups and traffic_dials:
        unknown = sorted(set(traffic_dials) - set(regions))
        if unknown:
            return f"traffic_dials name {', '.join(unknown)}, which no endpoint group of endpoint_groups is in."
    for port_range in (listener or {}).get("port_ranges") or []:
        low, high = port_range["from_port"], port_range.get("to_port") or port_range["from_port"]
        if not 1 <= low <= high <= 65535:
            return f"listener.port_ranges entry {low}-{high} is not a range of ports from 1 to 65535 (from_port <= to_port)."
    return None


def _validate_group(group):
    region = group["region"]
    for endpoint in group.get("endpoints") or []:
        if _outside(endpoint.get("weight"), WEIGHT_RANGE):
            return f"Endpoint {endpoint['endpoint_id']} in {region} has weight {endpoint['weight']}; weights go from 0 to 255."
        kind = endpoint_kind(endpoint["endpoint_id"])
        if kind is None:
            return (f"Endpoint id {endpoint['endpoint_id']} in {region} is neither a load balancer ARN, an EC2 instance id "
                    "(i-...) nor an Elastic IP allocation id (eipalloc-...).")
        if kind == "elb" and elb_region(endpoint["endpoint_id"]) != region:
            return (f"Load balancer {endpoint['endpoint_id']} is in {elb_region(endpoint['endpoint_id'])}, not in the "
                    f"endpoint group's Region {region}.")
    ids = [e["endpoint_id"] for e in group.get("endpoints") or []]
    if len(set(ids)) != len(ids):
        return f"The endpoint group of {region} lists an endpoint more than once."
    interval = group.get("health_check_interval")
    if interval is not None and interval not in HEALTH_CHECK_INTERVALS:
        return f"health_check_interval of {region} is {interval}; Global Accelerator checks every 10 or 30 seconds."
    if _outside(group.get("threshold_count"), THRESHOLD_RANGE):
        return f"threshold_count of {region} is {group['threshold_count']}; it goes from 1 to 10."
    if group.get("health_check_path") and group.get("health_check_protocol") == "TCP":
        return f"health_check_path of {region} needs health_check_protocol HTTP or HTTPS, not TCP."
    return None


def local_zone_problem(endpoint_zones, zone_kinds):
    """A sentence refusing endpoints in Local Zones, or None.

    ``endpoint_zones`` maps endpoint id -> zone names it sits in; ``zone_kinds`` maps zone name -> zone type.
    """
    for endpoint_id, zones in sorted(endpoint_zones.items()):
        local = sorted(z for z in zones if zone_kinds.get(z) == "local-zone")
        if local:
            return (f"Endpoint {endpoint_id} is in Local Zone {', '.join(local)}; Global Accelerator does not support "
                    "endpoints in Local Zones, so put the site's load balancer in the parent Region or use Route 53 for it.")
    return None


def desired_dials(current_groups, requested_groups, active_region=None, traffic_dials=None):
    """{Region: dial} after this call, for every group that exists or will exist.

    Precedence: ``active_region`` (100 there, 0 elsewhere), then ``traffic_dials``, then each requested group's
    ``traffic_dial``; a group nobody mentions keeps its dial, and a new group starts at 100 as in the API.
    """
    dials = {g["EndpointGroupRegion"]: float(g["TrafficDialPercentage"]) for g in current_groups}
    for group in requested_groups or []:
        if group.get("traffic_dial") is not None:
            dials[group["region"]] = float(group["traffic_dial"])
        else:
            dials.setdefault(group["region"], DEFAULT_DIAL)
    for region, dial in (traffic_dials or {}).items():
        if region in dials:
            dials[region] = float(dial)
    if active_region:
        dials = {region: (100.0 if region == active_region else 0.0) for region in dials}
    return dials


def dial_order(before, after):
    """Regions whose dial changes, raised ones first so no moment has less dialled-in capacity than either end."""
    changed = [r for r in after if before.get(r) != after[r]]
    return sorted(changed, key=lambda r: (after[r] <= before.get(r, 0.0), r))


def endpoint_configurations(endpoints):
    """Module endpoints in UpdateEndpointGroup form, sorted by id."""
    configurations = []
    for endpoint in endpoints:
        configuration = {"EndpointId": endpoint["endpoint_id"],
                         "Weight": DEFAULT_WEIGHT if endpoint.get("weight") is None else endpoint["weight"]}
        if endpoint.get("client_ip_preservation") is not None:
            configuration["ClientIPPreservationEnabled"] = endpoint["client_ip_preservation"]
        configurations.append(configuration)
    return sorted(configurations, key=lambda c: c["EndpointId"])


def current_configurations(group):
    """An existing group's endpoints in UpdateEndpointGroup form, sorted by id."""
    return sorted(({"EndpointId": e["EndpointId"], "Weight": e.get("Weight", DEFAULT_WEIGHT),
                    "ClientIPPreservationEnabled": e.get("ClientIPPreservationEnabled", False)}
                   for e in group.get("EndpointDescriptions", [])), key=lambda c: c["EndpointId"])


def _same_endpoints(current, wanted):
    if [c["EndpointId"] for c in current] != [w["EndpointId"] for w in wanted]:
        return False
    return all(c["Weight"] == w["Weight"] and w.get("ClientIPPreservationEnabled", c["ClientIPPreservationEnabled"])
               == c["ClientIPPreservationEnabled"] for c, w in zip(current, wanted))


def group_fields(requested):
    """CreateEndpointGroup fields (besides Region, dial and endpoints) the user set for a group."""
    return {field: requested[option] for option, field in HEALTH_CHECK_FIELDS if requested.get(option) is not None}


def plan_group_update(current, requested, dial):
    """UpdateEndpointGroup fields that make ``current`` what ``requested`` and ``dial`` say ({} when it already is).

    ``requested`` is None when only the dial is managed; endpoints are managed only when listed.
    """
    changes = {}
    if float(current["TrafficDialPercentage"]) != float(dial):
        changes["TrafficDialPercentage"] = float(dial)
    if requested is None:
        return changes
    for field, value in group_fields(requested).items():
        if current.get(field) != value:
            changes[field] = value
    if requested.get("endpoints") is not None:
        wanted = endpoint_configurations(requested["endpoints"])
        if not _same_endpoints(current_configurations(current), wanted):
            changes["EndpointConfigurations"] = wanted
    return changes


def listener_fields(listener):
    """CreateListener fields from the module's listener option."""
    return {"Protocol": listener.get("protocol") or "TCP",
            "PortRanges": port_ranges_api(listener.get("port_ranges") or [{"from_port": 80, "to_port": 80}]),
            "ClientAffinity": listener.get("client_affinity") or "NONE"}


def plan_listener_update(current, listener):
    """UpdateListener fields that make ``current`` match the module's listener option ({} when it does)."""
    wanted = listener_fields(listener)
    changes = {}
    if current["Protocol"] != wanted["Protocol"]:
        changes["Protocol"] = wanted["Protocol"]
    if port_ranges_api(snake_ranges(current["PortRanges"])) != wanted["PortRanges"]:
        changes["PortRanges"] = wanted["PortRanges"]
    if current.get("ClientAffinity", "NONE") != wanted["ClientAffinity"]:
        changes["ClientAffinity"] = wanted["ClientAffinity"]
    return changes


def snake_ranges(ranges):
    return [{"from_port": r["FromPort"], "to_port": r["ToPort"]} for r in ranges]


def healthy_endpoints(group):
    """Endpoints of ``group`` that take traffic: HEALTHY with a weight above 0."""
    return [e for e in group.get("EndpointDescriptions", []) if e.get("HealthState") == HEALTHY and e.get("Weight", 0) > 0]


def serving_shares(groups):
    """{Region: share of new connections}, under the service's routing rules (see the module docstring).

    Groups with a healthy endpoint share traffic by dial; when they are all dialled to 0 failover ignores the
    dials and they share it equally; when no endpoint is healthy anywhere the accelerator fails open to every
    group that has endpoints. Client location is not modelled: shares are for the listener as a whole.
    """
    eligible = [g for g in groups if healthy_endpoints(g)]
    if not eligible:
        eligible = [g for g in groups if any(e.get("Weight", 0) > 0 for e in g.get("EndpointDescriptions", []))]
    if not eligible:
        return {}
    total = sum(float(g["TrafficDialPercentage"]) for g in eligible)
    if total == 0:
        return {g["EndpointGroupRegion"]: round(1.0 / len(eligible), 4) for g in eligible}
    return {g["EndpointGroupRegion"]: round(float(g["TrafficDialPercentage"]) / total, 4) for g in eligible}


def serving_region(groups):
    """The Region that takes the largest share of new connections (None when nothing can serve)."""
    shares = serving_shares(groups)
    if not shares:
        return None
    best = max(shares.values())
    return next(g["EndpointGroupRegion"] for g in groups if shares.get(g["EndpointGroupRegion"]) == best)


def fencing_warnings(groups):
    """Warnings for groups dialled to 0 that can still receive traffic when the others fail."""
    warnings = []
    for group in groups:
        weighted = [e["EndpointId"] for e in group.get("EndpointDescriptions", []) if e.get("Weight", 0) > 0]
        if float(group["TrafficDialPercentage"]) == 0 and weighted:
            warnings.append(
                f"The endpoint group in {group['EndpointGroupRegion']} is dialled to 0% but still receives traffic if "
                "the other groups become unhealthy: Global Accelerator's failover ignores traffic dials. To fence it, "
                "set its endpoints' weight to 0 or remove them.")
    return warnings


def dials_of(groups):
    return {g["EndpointGroupRegion"]: float(g["TrafficDialPercentage"]) for g in groups}


def describe_group(group):
    """An endpoint group as the modules return it."""
    return {
        "region": group["EndpointGroupRegion"],
        "endpoint_group_arn": group["EndpointGroupArn"],
        "traffic_dial": float(group["TrafficDialPercentage"]),
        "health_check_protocol": group.get("HealthCheckProtocol"),
        "health_check_port": group.get("HealthCheckPort"),
        "health_check_path": group.get("HealthCheckPath"),
        "health_check_interval": group.get("HealthCheckIntervalSeconds"),
        "threshold_count": group.get("ThresholdCount"),
        "healthy": bool(healthy_endpoints(group)),
        "endpoints": [{"endpoint_id": e["EndpointId"], "weight": e.get("Weight"), "health_state": e.get("HealthState"),
                       "health_reason": e.get("HealthReason"),
                       "client_ip_preservation": e.get("ClientIPPreservationEnabled")}
                      for e in group.get("EndpointDescriptions", [])],
    }


def describe_result(state):
    """What both modules return about an accelerator (``state`` as ``describe_state`` builds it)."""
    accelerator, listener, groups = state["accelerator"], state["listener"], state["endpoint_groups"]
    ips = [ip for ip_set in accelerator.get("IpSets", []) for ip in ip_set.get("IpAddresses", [])]
    return {
        "accelerator": {
            "accelerator_arn": accelerator["AcceleratorArn"],
            "name": accelerator["Name"],
            "status": accelerator.get("Status"),
            "enabled": accelerator.get("Enabled"),
            "dns_name": accelerator.get("DnsName"),
            "dual_stack_dns_name": accelerator.get("DualStackDnsName"),
            "ip_addresses": ips,
            "hosted_zone_id": HOSTED_ZONE_ID,
        },
        "listener": None if listener is None else {
            "listener_arn": listener["ListenerArn"],
            "protocol": listener["Protocol"],
            "port_ranges": snake_ranges(listener["PortRanges"]),
            "client_affinity": listener.get("ClientAffinity"),
        },
        "endpoint_groups": [describe_group(g) for g in groups],
        "serving_region": serving_region(groups),
        "serving_shares": serving_shares(groups),
    }
