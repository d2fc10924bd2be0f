"""Global Accelerator, in memory: moto has none, so every call of the service is answered here.

The API is served in us-west-2 only; a call signed for another Region is refused. A call's input is
checked against botocore's model of the service the way AWS's front end checks it (required members,
types, ranges, lengths, enums, patterns: ``ValidationException``), then against the rules the model
cannot express (``InvalidArgumentException``): health checks every 10 or 30 seconds, a check path only
for HTTP(S) checks, real Region names, and endpoints that are an Application or Network Load Balancer,
an EC2 instance or an Elastic IP allocation of the group's Region, never a load balancer in a Local Zone.

Any change to an accelerator, its listeners, its endpoint groups or their endpoints puts the
accelerator ``IN_PROGRESS``; it is ``DEPLOYED`` again ``deploy_seconds * time_scale`` seconds later.
An accelerator can be deleted once disabled, deployed and without listeners; a listener once it has
no endpoint groups.

Endpoint health follows site state (see ``sandbox.state``): a load balancer endpoint belongs to the
site one of whose endpoints is its DNS name, and is seen as that site was ``HealthCheckIntervalSeconds
* ThresholdCount * time_scale`` seconds ago. An endpoint of no site is healthy; one whose load
balancer or Elastic IP is gone, or whose instance is not running, is unhealthy; a new endpoint is
``INITIAL`` for the same delay.

Routing, as ``status()`` reports it per listener: the endpoint groups with a healthy endpoint of weight
above 0 share the traffic in proportion to their traffic dials; dials are ignored on failover (when no
such group has a dial above 0 they share equally); when no group has a healthy endpoint, the accelerator
fails open to every group with endpoints, again by dial. A disabled accelerator serves nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import botocore.session
from botocore.model import OperationModel, Shape
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends
from moto.elbv2.models import elbv2_backends
from werkzeug.wrappers import Response

from sandbox.extensions.base import Extension, Handler
from sandbox.extensions.ec2 import LOCAL_ZONES
from sandbox.protocol import AwsRequest, Forward, json11_error, json_response
from sandbox.state import Site, SiteRegistry

CONTROL_REGION = "us-west-2"
TARGET_PREFIX = "GlobalAccelerator_V20180706."
DEFAULT_DEPLOY_SECONDS = 30.0
DEFAULT_PAGE_SIZE = 10
DEFAULT_WEIGHT = 128
HEALTH_CHECK_INTERVALS = (10, 30)
LOCAL_ZONE_NAMES = frozenset(zone.name for zone in LOCAL_ZONES)

HEALTHY, UNHEALTHY, INITIAL = "HEALTHY", "UNHEALTHY", "INITIAL"

# botocore type name -> the JSON value types that can carry it; the numeric ones have value ranges.
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "structure": (dict,), "list": (list,), "map": (dict,), "string": (str,), "boolean": (bool,),
    "integer": (int,), "long": (int,), "float": (int, float), "double": (int, float), "timestamp": (int, float),
}
NUMBERS = ("integer", "long", "float", "double")

_LOAD_BALANCER = re.compile(
    r"arn:aws:elasticloadbalancing:(?P<region>[a-z0-9-]+):\d{12}:loadbalancer/(?P<type>app|net)/[^/]+/[0-9a-f]+")
_INSTANCE = re.compile(r"i-[0-9a-f]{8,17}")
_ALLOCATION = re.compile(r"eipalloc-[0-9a-f]{8,17}")


class ServiceError(Exception):
    """An error the service answers with: its code and message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidArgumentException", message)


@dataclass
class Endpoint:
    endpoint_id: str
    weight: int
    client_ip_preservation: bool
    added_at: float  # monotonic


@dataclass
class EndpointGroup:
    arn: str
    region: str
    traffic_dial: float
    health_check_port: int
    health_check_protocol: str
    health_check_path: str | None
    interval: int
    threshold: int
    port_overrides: list[dict[str, int]]
    endpoints: dict[str, Endpoint] = field(default_factory=dict)


@dataclass
class Listener:
    arn: str
    port_ranges: list[dict[str, int]]
    protocol: str
    client_affinity: str
    groups: dict[str, EndpointGroup] = field(default_factory=dict)


@dataclass
class Accelerator:
    arn: str
    name: str
    ip_address_type: str
    enabled: bool
    created: float
    modified: float
    deployed_at: float  # monotonic time from which the status is DEPLOYED
    attributes: dict[str, Any] = field(default_factory=lambda: {"FlowLogsEnabled": False})
    tags: dict[str, str] = field(default_factory=dict)
    listeners: dict[str, Listener] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return "DEPLOYED" if time.monotonic() >= self.deployed_at else "IN_PROGRESS"

    @property
    def digest(self) -> bytes:
        """What the accelerator's DNS name and static addresses derive from (stable for its life)."""
        return hashlib.sha256(self.arn.encode()).digest()

    @property
    def dns_name(self) -> str:
        return f"a{self.digest[:8].hex()}.awsglobalaccelerator.com"

    def ip_sets(self) -> list[dict[str, Any]]:
        """Two static IPv4 addresses (plus two IPv6 ones for a dual-stack accelerator)."""
        octets = [byte % 254 + 1 for byte in self.digest[8:12]]
        sets = [ip_set("IPv4", [f"75.2.{octets[0]}.{octets[1]}", f"99.83.{octets[2]}.{octets[3]}"])]
        if self.ip_address_type == "DUAL_STACK":
            suffix = self.digest[12:14].hex()
            sets.append(ip_set("IPv6", [f"2600:9000:a400::{suffix}", f"2600:9000:a500::{suffix}"]))
        return sets


def ip_set(family: str, addresses: list[str]) -> dict[str, Any]:
    return {"IpFamily": family, "IpAddresses": addresses, "IpAddressFamily": family}


@dataclass(frozen=True)
class Observation:
    """What the service's health checks make of one endpoint now."""

    endpoint: Endpoint
    state: str
    reason: str | None
    site: Site | None


class GlobalAcceleratorExtension(Extension):
    service = "globalaccelerator"

    def __init__(self, sites: SiteRegistry, time_scale: float, deploy_seconds: float | None = None):
        self.sites = sites
        self.time_scale = time_scale
        self.deploy_seconds = DEFAULT_DEPLOY_SECONDS if deploy_seconds is None else deploy_seconds
        self.accelerators: dict[str, Accelerator] = {}
        self.lock = threading.Lock()
        session = botocore.session.get_session()
        self.model = session.get_service_model(self.service)
        self.regions = frozenset(session.get_available_regions("ec2"))
        self.operations: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "CreateAccelerator": self.create_accelerator,
            "DescribeAccelerator": self.describe_accelerator,
            "ListAccelerators": self.list_accelerators,
            "UpdateAccelerator": self.update_accelerator,
            "DeleteAccelerator": self.delete_accelerator,
            "DescribeAcceleratorAttributes": self.describe_accelerator_attributes,
            "UpdateAcceleratorAttributes": self.update_accelerator_attributes,
            "CreateListener": self.create_listener,
            "DescribeListener": self.describe_listener,
            "ListListeners": self.list_listeners,
            "UpdateListener": self.update_listener,
            "DeleteListener": self.delete_listener,
            "CreateEndpointGroup": self.create_endpoint_group,
            "DescribeEndpointGroup": self.describe_endpoint_group,
            "ListEndpointGroups": self.list_endpoint_groups,
            "UpdateEndpointGroup": self.update_endpoint_group,
            "DeleteEndpointGroup": self.delete_endpoint_group,
            "AddEndpoints": self.add_endpoints,
            "RemoveEndpoints": self.remove_endpoints,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags_for_resource,
        }

    def route(self, request: AwsRequest) -> Handler | None:
        return self.handle  # nothing of this service goes to moto

    def handle(self, request: AwsRequest, forward: Forward) -> Response:
        """Check the Region and the input, then run the operation under the lock."""
        target = request.environ.get("HTTP_X_AMZ_TARGET", "")
        operation = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else target
        try:
            if request.region != CONTROL_REGION:
                raise ServiceError("UnrecognizedClientException",
                                   f"Global Accelerator's API is served only in {CONTROL_REGION}; "
                                   f"this request was signed for {request.region}.")
            run = self.operations.get(operation)
            if run is None:
                raise ServiceError("UnsupportedOperation",
                                   f"The sandbox does not implement the Global Accelerator operation '{operation}'.")
            params = parse_body(request.body)
            check_input(self.model.operation_model(operation), params)
            with self.lock:
                return json_response(run(params))
        except ServiceError as error:
            return json11_error(error.code, error.message)

    # -- accelerators ---------------------------------------------------------------------------

    def create_accelerator(self, params: dict[str, Any]) -> dict[str, Any]:
        refuse_byoip(params)
        now = time.time()
        accelerator = Accelerator(
            arn=f"arn:aws:globalaccelerator::{DEFAULT_ACCOUNT_ID}:accelerator/{uuid.uuid4()}",
            name=params["Name"], ip_address_type=params.get("IpAddressType", "IPV4"),
            enabled=params.get("Enabled", True), created=now, modified=now, deployed_at=self.deployed_after_change(),
            tags={tag["Key"]: tag["Value"] for tag in params.get("Tags", [])})
        self.accelerators[accelerator.arn] = accelerator
        return {"Accelerator": describe_accelerator(accelerator)}

    def describe_accelerator(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"Accelerator": describe_accelerator(self.accelerator(params["AcceleratorArn"]))}

    def list_accelerators(self, params: dict[str, Any]) -> dict[str, Any]:
        return page([describe_accelerator(a) for a in self.accelerators.values()], params, "Accelerators")

    def update_accelerator(self, params: dict[str, Any]) -> dict[str, Any]:
        accelerator = self.accelerator(params["AcceleratorArn"])
        refuse_byoip(params)
        accelerator.name = params.get("Name", accelerator.name)
        accelerator.ip_address_type = params.get("IpAddressType", accelerator.ip_address_type)
        accelerator.enabled = params.get("Enabled", accelerator.enabled)
        self.changed(accelerator)
        return {"Accelerator": describe_accelerator(accelerator)}

    def delete_accelerator(self, params: dict[str, Any]) -> dict[str, Any]:
        accelerator = self.accelerator(params["AcceleratorArn"])
        if accelerator.enabled or accelerator.status != "DEPLOYED":
            raise ServiceError("AcceleratorNotDisabledException",
                               "The accelerator must be disabled, and its status DEPLOYED, before it can be deleted.")
        if accelerator.listeners:
            raise ServiceError("AssociatedListenerFoundException",
                               "The accelerator has listeners; delete them before deleting the accelerator.")
        del self.accelerators[accelerator.arn]
        return {}

    def describe_accelerator_attributes(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"AcceleratorAttributes": dict(self.accelerator(params["AcceleratorArn"]).attributes)}

    def update_accelerator_attributes(self, params: dict[str, Any]) -> dict[str, Any]:
        accelerator = self.accelerator(params["AcceleratorArn"])
        attributes = {**accelerator.attributes, **{k: v for k, v in params.items() if k.startswith("FlowLogs")}}
        if attributes["FlowLogsEnabled"] and not attributes.get("FlowLogsS3Bucket"):
            raise invalid("FlowLogsS3Bucket is required when FlowLogsEnabled is true.")
        accelerator.attributes = attributes
        self.changed(accelerator)
        return {"AcceleratorAttributes": dict(attributes)}

    # -- listeners ------------------------------------------------------------------------------

    def create_listener(self, params: dict[str, Any]) -> dict[str, Any]:
        accelerator = self.accelerator(params["AcceleratorArn"])
        check_port_ranges(params["PortRanges"], accelerator.listeners.values())
        listener = Listener(f"{accelerator.arn}/listener/{uuid.uuid4().hex[:8]}", params["PortRanges"],
                            params["Protocol"], params.get("ClientAffinity", "NONE"))
        accelerator.listeners[listener.arn] = listener
        self.changed(accelerator)
        return {"Listener": describe_listener(listener)}

    def describe_listener(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"Listener": describe_listener(self.listener(params["ListenerArn"])[1])}

    def list_listeners(self, params: dict[str, Any]) -> dict[str, Any]:
        listeners = self.accelerator(params["AcceleratorArn"]).listeners.values()
        return page([describe_listener(listener) for listener in listeners], params, "Listeners")

    def update_listener(self, params: dict[str, Any]) -> dict[str, Any]:
        accelerator, listener = self.listener(params["ListenerArn"])
        if "PortRanges" in params:
            others = [other for other in accelerator.listeners.values() if other is not listener]
            check_port_ranges(params["PortRanges"], others)
            listener.port_ranges = params["PortRanges"]
        listener.protocol = params.get("Protocol", listener.protocol)
        listener.client_affinity = params.get("ClientAffinity", listener.client_affinity)
        self.changed(accelerator)
        return {"Listener": describe_listener(listener)}

    def delete_listener(self, params: dict[str, Any]) -> dict[str, Any]:
        accelerator, listener = self.listener(params["ListenerArn"])
        if listener.groups:
            raise ServiceError("AssociatedEndpointGroupFoundException",
                               "The listener has endpoint groups; delete them before deleting the listener.")
        del accelerator.listeners[listener.arn]
        self.changed(accelerator)
        return {}

    # -- endpoint groups and endpoints ----------------------------------------------------------

    def create_endpoint_group(self, params: dict[str, Any]) -> dict[str, Any]:
        accelerator, listener = self.listener(params["ListenerArn"])
        region = params["EndpointGroupRegion"]
        if region not in self.regions:
            raise invalid(f"EndpointGroupRegion '{region}' is not an AWS Region.")
        if any(group.region == region for group in listener.groups.values()):
            raise ServiceError("EndpointGroupAlreadyExistsException",
                               f"The listener already has an endpoint group in {region}.")
        group = EndpointGroup(
            arn=f"{listener.arn}/endpoint-group/{uuid.uuid4().hex[:12]}", region=region,
            traffic_dial=float(params.get("TrafficDialPercentage", 100.0)),
            health_check_port=params.get("HealthCheckPort", listener.port_ranges[0]["FromPort"]),
            health_check_protocol="TCP", health_check_path=None, interval=30, threshold=3,
            port_overrides=params.get("PortOverrides", []))
        self.configure_health_check(group, params)
        group.endpoints = self.endpoints_of(group, params.get("EndpointConfigurations", []))
        listener.groups[group.arn] = group
        self.changed(accelerator)
        return {"EndpointGroup": self.describe_group(group)}

    def describe_endpoint_group(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"EndpointGroup": self.describe_group(self.group(params["EndpointGroupArn"])[2])}

    def list_endpoint_groups(self, params: dict[str, Any]) -> dict[str, Any]:
        groups = self.listener(params["ListenerArn"])[1].groups.values()
        return page([self.describe_group(group) for group in groups], params, "EndpointGroups")

    def update_endpoint_group(self, params: dict[str, Any]) -> dict[str, Any]:
        accelerator, _listener, group = self.group(params["EndpointGroupArn"])
        configurations = params.get("EndpointConfigurations")
        endpoints = group.endpoints if configurations is None else self.endpoints_of(group, configurations)
        self.configure_health_check(group, params)  # checks everything before it changes anything
        group.endpoints = endpoints
        group.traffic_dial = float(params.get("TrafficDialPercentage", group.traffic_dial))
        group.health_check_port = params.get("HealthCheckPort", group.health_check_port)
        group.port_overrides = params.get("PortOverrides", group.port_overrides)
        self.changed(accelerator)
        return {"EndpointGroup": self.describe_group(group)}

    def delete_endpoint_group(self, params: dict[str, Any]) -> dict[str, Any]:
        accelerator, listener, group = self.group(params["EndpointGroupArn"])
        del listener.groups[group.arn]
        self.changed(accelerator)
        return {}

    def add_endpoints(self, params: dict[str, Any]) -> dict[str, Any]:
        accelerator, _listener, group = self.group(params["EndpointGroupArn"])
        added = self.endpoints_of(group, params["EndpointConfigurations"])
        group.endpoints.update(added)
        self.changed(accelerator)
        return {"EndpointDescriptions": [describe_endpoint(self.observe(group, e)) for e in added.values()],
                "EndpointGroupArn": group.arn}

    def remove_endpoints(self, params: dict[str, Any]) -> dict[str, Any]:
        accelerator, _listener, group = self.group(params["EndpointGroupArn"])
        removed = [identifier["EndpointId"] for identifier in params["EndpointIdentifiers"]]
        missing = [endpoint_id for endpoint_id in removed if endpoint_id not in group.endpoints]
        if missing:
            raise ServiceError("EndpointNotFoundException",
                               f"The endpoint group has no endpoint {', '.join(missing)}.")
        for endpoint_id in removed:
            del group.endpoints[endpoint_id]
        self.changed(accelerator)
        return {}

    def configure_health_check(self, group: EndpointGroup, params: dict[str, Any]) -> None:
        """Apply the health-check settings of a create or update, with the rules the model cannot say."""
        interval = params.get("HealthCheckIntervalSeconds", group.interval)
        if interval not in HEALTH_CHECK_INTERVALS:
            raise invalid(f"HealthCheckIntervalSeconds must be 10 or 30, not {interval}.")
        protocol = params.get("HealthCheckProtocol", group.health_check_protocol)
        if protocol == "TCP" and "HealthCheckPath" in params:
            raise invalid("HealthCheckPath applies only to HTTP and HTTPS health checks.")
        group.interval = interval
        group.threshold = params.get("ThresholdCount", group.threshold)
        group.health_check_protocol = protocol
        path = params.get("HealthCheckPath", group.health_check_path)
        group.health_check_path = None if protocol == "TCP" else path or "/"

    def endpoints_of(self, group: EndpointGroup, configurations: list[dict[str, Any]]) -> dict[str, Endpoint]:
        """The endpoints a call configures, checked; an endpoint already in the group keeps its age."""
        endpoints: dict[str, Endpoint] = {}
        for configuration in configurations:
            endpoint_id = self.checked_endpoint_id(group.region, configuration.get("EndpointId"))
            known = group.endpoints.get(endpoint_id)
            preserve = configuration.get("ClientIPPreservationEnabled", preserves_client_ip(endpoint_id))
            endpoints[endpoint_id] = Endpoint(endpoint_id, configuration.get("Weight", DEFAULT_WEIGHT), preserve,
                                              known.added_at if known else time.monotonic())
        return endpoints

    def checked_endpoint_id(self, region: str, endpoint_id: str | None) -> str:
        """``endpoint_id`` if it names a resource of ``region`` that can be an endpoint."""
        if not endpoint_id:
            raise invalid("Every endpoint configuration needs an EndpointId (cross-account attachments "
                          "are not supported).")
        balancer = _LOAD_BALANCER.fullmatch(endpoint_id)
        if balancer and balancer["region"] != region:
            raise invalid(f"The load balancer {endpoint_id} is not in the endpoint group's Region {region}.")
        if balancer:
            check_load_balancer(region, endpoint_id)
        elif _INSTANCE.fullmatch(endpoint_id):
            if find_instance(region, endpoint_id) is None:
                raise invalid(f"The EC2 instance {endpoint_id} does not exist in {region}.")
        elif _ALLOCATION.fullmatch(endpoint_id):
            if not allocation_exists(region, endpoint_id):
                raise invalid(f"The Elastic IP address allocation {endpoint_id} does not exist in {region}.")
        else:
            raise invalid(f"The endpoint ID '{endpoint_id}' is not the ARN of an Application or Network Load "
                          f"Balancer, an EC2 instance ID or an Elastic IP address allocation ID.")
        return endpoint_id

    # -- tags -----------------------------------------------------------------------------------

    def tag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        self.accelerator(params["ResourceArn"]).tags.update({tag["Key"]: tag["Value"] for tag in params["Tags"]})
        return {}

    def untag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        tags = self.accelerator(params["ResourceArn"]).tags
        for key in params["TagKeys"]:
            tags.pop(key, None)
        return {}

    def list_tags_for_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        tags = self.accelerator(params["ResourceArn"]).tags
        return {"Tags": [{"Key": key, "Value": value} for key, value in tags.items()]}

    # -- lookups and state ----------------------------------------------------------------------

    def accelerator(self, arn: str) -> Accelerator:
        accelerator = self.accelerators.get(arn)
        if accelerator is None:
            raise ServiceError("AcceleratorNotFoundException", f"Accelerator {arn} was not found.")
        return accelerator

    def listener(self, arn: str) -> tuple[Accelerator, Listener]:
        accelerator = self.accelerators.get(arn.split("/listener/")[0])
        listener = accelerator.listeners.get(arn) if accelerator else None
        if listener is None:
            raise ServiceError("ListenerNotFoundException", f"Listener {arn} was not found.")
        return accelerator, listener

    def group(self, arn: str) -> tuple[Accelerator, Listener, EndpointGroup]:
        accelerator = self.accelerators.get(arn.split("/listener/")[0])
        listener = accelerator.listeners.get(arn.split("/endpoint-group/")[0]) if accelerator else None
        group = listener.groups.get(arn) if listener else None
        if group is None:
            raise ServiceError("EndpointGroupNotFoundException", f"Endpoint group {arn} was not found.")
        return accelerator, listener, group

    def changed(self, accelerator: Accelerator) -> None:
        """A configuration change: the accelerator deploys it from now on."""
        accelerator.modified = time.time()
        accelerator.deployed_at = self.deployed_after_change()

    def deployed_after_change(self) -> float:
        return time.monotonic() + self.deploy_seconds * self.time_scale

    # -- health and routing ---------------------------------------------------------------------

    def observe(self, group: EndpointGroup, endpoint: Endpoint) -> Observation:
        """The endpoint's health as the group's checks see it, lagging by their detection delay."""
        delay = group.interval * group.threshold * self.time_scale
        balancer = find_load_balancer(group.region, endpoint.endpoint_id)
        site = self.sites.site_for(balancer.dns_name) if balancer else None
        if time.monotonic() - endpoint.added_at < delay:
            return Observation(endpoint, INITIAL, "Initial health checking", site)
        if not in_service(group.region, endpoint.endpoint_id):
            return Observation(endpoint, UNHEALTHY, "The endpoint no longer exists or is not running", site)
        if site and not site.reachable(delay):
            return Observation(endpoint, UNHEALTHY, "Health checks failed", site)
        return Observation(endpoint, HEALTHY, None, site)

    def describe_group(self, group: EndpointGroup) -> dict[str, Any]:
        described = {
            "EndpointGroupArn": group.arn,
            "EndpointGroupRegion": group.region,
            "EndpointDescriptions": [describe_endpoint(self.observe(group, e)) for e in group.endpoints.values()],
            "TrafficDialPercentage": group.traffic_dial,
            "HealthCheckPort": group.health_check_port,
            "HealthCheckProtocol": group.health_check_protocol,
            "HealthCheckIntervalSeconds": group.interval,
            "ThresholdCount": group.threshold,
            "PortOverrides": group.port_overrides,
        }
        if group.health_check_path:
            described["HealthCheckPath"] = group.health_check_path
        return described

    def status(self) -> dict[str, Any]:
        """Every accelerator with its listeners, their endpoints' health and where each listener routes now."""
        with self.lock:
            return {"global_accelerators": [self.report(a) for a in self.accelerators.values()]}

    def report(self, accelerator: Accelerator) -> dict[str, Any]:
        return {
            "name": accelerator.name,
            "arn": accelerator.arn,
            "status": accelerator.status,
            "enabled": accelerator.enabled,
            "dns_name": accelerator.dns_name,
            "ip_addresses": [address for s in accelerator.ip_sets() for address in s["IpAddresses"]],
            "listeners": [self.listener_report(accelerator, listener) for listener in accelerator.listeners.values()],
        }

    def listener_report(self, accelerator: Accelerator, listener: Listener) -> dict[str, Any]:
        observed = [(group, [self.observe(group, e) for e in group.endpoints.values()])
                    for group in listener.groups.values()]
        shares = routing_shares(observed) if accelerator.enabled else {}
        regions = [group.region for group in listener.groups.values()]
        return {
            "arn": listener.arn,
            "protocol": listener.protocol,
            "port_ranges": listener.port_ranges,
            "serving_region": max(shares, key=shares.__getitem__) if shares else None,
            "serving_shares": {region: round(shares.get(region, 0.0), 4) for region in regions},
            "endpoint_groups": [
                {"region": group.region, "arn": group.arn, "traffic_dial": group.traffic_dial,
                 "endpoints": [{"id": o.endpoint.endpoint_id, "weight": o.endpoint.weight, "health": o.state,
                                "site": o.site.name if o.site else None} for o in observations]}
                for group, observations in observed
            ],
        }


def routing_shares(observed: list[tuple[EndpointGroup, list[Observation]]]) -> dict[str, float]:
    """Each serving Region's share of a listener's traffic, in group creation order (empty: none serves)."""
    eligible = [group for group, observations in observed
                if any(o.state == HEALTHY and o.endpoint.weight > 0 for o in observations)]
    candidates = eligible or [group for group, _ in observed if group.endpoints]  # fail open
    dials = {group.region: group.traffic_dial for group in candidates}
    if not any(dials.values()):
        dials = dict.fromkeys(dials, 1.0)  # dials are ignored on failover
    total = sum(dials.values())
    return {region: dial / total for region, dial in dials.items() if dial > 0}


# -- answers ------------------------------------------------------------------------------------


def describe_accelerator(accelerator: Accelerator) -> dict[str, Any]:
    described = {
        "AcceleratorArn": accelerator.arn,
        "Name": accelerator.name,
        "IpAddressType": accelerator.ip_address_type,
        "Enabled": accelerator.enabled,
        "IpSets": accelerator.ip_sets(),
        "DnsName": accelerator.dns_name,
        "Status": accelerator.status,
        "CreatedTime": accelerator.created,
        "LastModifiedTime": accelerator.modified,
    }
    if accelerator.ip_address_type == "DUAL_STACK":
        described["DualStackDnsName"] = accelerator.dns_name.replace(".aws", ".dualstack.aws", 1)
    return described


def describe_listener(listener: Listener) -> dict[str, Any]:
    return {"ListenerArn": listener.arn, "PortRanges": listener.port_ranges, "Protocol": listener.protocol,
            "ClientAffinity": listener.client_affinity}


def describe_endpoint(observation: Observation) -> dict[str, Any]:
    endpoint = observation.endpoint
    described = {"EndpointId": endpoint.endpoint_id, "Weight": endpoint.weight, "HealthState": observation.state,
                 "ClientIPPreservationEnabled": endpoint.client_ip_preservation}
    if observation.reason:
        described["HealthReason"] = observation.reason
    return described


def page(items: list[dict[str, Any]], params: dict[str, Any], key: str) -> dict[str, Any]:
    """One page of ``items`` (``MaxResults`` from ``NextToken``'s offset) with the token of the next."""
    start = decode_token(params.get("NextToken"), len(items))
    end = start + params.get("MaxResults", DEFAULT_PAGE_SIZE)
    answer: dict[str, Any] = {key: items[start:end]}
    if end < len(items):
        answer["NextToken"] = base64.urlsafe_b64encode(str(end).encode()).decode()
    return answer


def decode_token(token: str | None, size: int) -> int:
    if token is None:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(token.encode()).decode())
    except (ValueError, binascii.Error):
        offset = -1
    if not 0 <= offset <= size:
        raise ServiceError("InvalidNextTokenException", "The NextToken is not valid.")
    return offset


# -- rules the model cannot express ------------------------------------------------------------


def refuse_byoip(params: dict[str, Any]) -> None:
    if params.get("IpAddresses"):
        raise invalid("No address range is provisioned for bring your own IP addresses (BYOIP) in this account.")


def check_port_ranges(ranges: list[dict[str, int]], others: Iterable[Listener]) -> None:
    """Each range is ordered and overlaps neither another of the call nor one of another listener."""
    taken = [r for listener in others for r in listener.port_ranges]
    for index, port_range in enumerate(ranges):
        if "FromPort" not in port_range or "ToPort" not in port_range:
            raise ServiceError("InvalidPortRangeException", "A port range needs both FromPort and ToPort.")
        if port_range["FromPort"] > port_range["ToPort"]:
            raise ServiceError("InvalidPortRangeException",
                               f"Port range {port_range['FromPort']}-{port_range['ToPort']} is reversed.")
        clash = next((r for r in taken + ranges[:index] if overlaps(r, port_range)), None)
        if clash:
            raise ServiceError("InvalidPortRangeException",
                               f"Port range {port_range['FromPort']}-{port_range['ToPort']} overlaps "
                               f"{clash['FromPort']}-{clash['ToPort']} of the accelerator's listeners.")


def overlaps(first: dict[str, int], second: dict[str, int]) -> bool:
    return first["FromPort"] <= second["ToPort"] and second["FromPort"] <= first["ToPort"]


def check_load_balancer(region: str, arn: str) -> None:
    """The load balancer exists in ``region`` and runs in the Region, not in a Local Zone."""
    balancer = find_load_balancer(region, arn)
    if balancer is None:
        raise invalid(f"The load balancer {arn} does not exist in {region}.")
    local = sorted({s.availability_zone for s in balancer.subnets} & LOCAL_ZONE_NAMES)
    if local:
        raise invalid(f"Global Accelerator does not support endpoints in Local Zones: the load balancer {arn} "
                      f"runs in {', '.join(local)}.")


def preserves_client_ip(endpoint_id: str) -> bool:
    """The default: on for Application Load Balancers and instances, off for the rest."""
    balancer = _LOAD_BALANCER.fullmatch(endpoint_id)
    return balancer["type"] == "app" if balancer else bool(_INSTANCE.fullmatch(endpoint_id))


# -- moto's resources ---------------------------------------------------------------------------


def find_load_balancer(region: str, arn: str) -> Any:
    return elbv2_backends[DEFAULT_ACCOUNT_ID][region].load_balancers.get(arn) if _LOAD_BALANCER.fullmatch(arn) else None


def find_instance(region: str, instance_id: str) -> Any:
    instances = ec2_backends[DEFAULT_ACCOUNT_ID][region].all_instances()
    return next((i for i in instances if i.id == instance_id), None)


def allocation_exists(region: str, allocation_id: str) -> bool:
    return any(a.allocation_id == allocation_id for a in ec2_backends[DEFAULT_ACCOUNT_ID][region].addresses)


def in_service(region: str, endpoint_id: str) -> bool:
    """Whether the endpoint's resource still exists (and, for an instance, runs)."""
    if _INSTANCE.fullmatch(endpoint_id):
        instance = find_instance(region, endpoint_id)
        return instance is not None and instance.state == "running"
    if _ALLOCATION.fullmatch(endpoint_id):
        return allocation_exists(region, endpoint_id)
    return find_load_balancer(region, endpoint_id) is not None


# -- input checks, as AWS's front end makes them -------------------------------------------------


def parse_body(body: bytes) -> dict[str, Any]:
    try:
        params = json.loads(body or b"{}")
    except ValueError:
        params = None
    if not isinstance(params, dict):
        raise ServiceError("SerializationException", "The request body is not a JSON object.")
    return params


def check_input(operation: OperationModel, params: dict[str, Any]) -> None:
    """Raise ValidationException listing every constraint of the operation's model that ``params`` breaks."""
    errors: list[str] = []
    collect_errors(operation.input_shape, params, "", errors)
    if errors:
        plural = "s" if len(errors) > 1 else ""
        raise ServiceError("ValidationException",
                           f"{len(errors)} validation error{plural} detected: {'; '.join(errors)}")


def collect_errors(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    check_type(shape, value, path)
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            member_path = f"{path}.{lower_first(name)}" if path else lower_first(name)
            if value.get(name) is None:
                if name in shape.required_members:
                    errors.append(f"Value null at '{member_path}' failed to satisfy constraint: "
                                  "Member must not be null")
                continue
            collect_errors(member, value[name], member_path, errors)
        return
    errors.extend(f"Value {render(shape, value)} at '{path}' failed to satisfy constraint: Member must {rule}"
                  for rule in broken_rules(shape, value))
    if shape.type_name == "list":
        for index, item in enumerate(value, start=1):
            collect_errors(shape.member, item, f"{path}.{index}.member", errors)


def broken_rules(shape: Shape, value: Any) -> list[str]:
    """The constraints of one scalar or list value that ``value`` breaks, as AWS words them."""
    limits, rules = shape.metadata, []
    if shape.type_name in NUMBERS + ("string", "list"):
        measured, noun = (value, "value") if shape.type_name in NUMBERS else (len(value), "length")
        if "min" in limits and measured < limits["min"]:
            rules.append(f"have {noun} greater than or equal to {limits['min']}")
        if "max" in limits and measured > limits["max"]:
            rules.append(f"have {noun} less than or equal to {limits['max']}")
    if shape.type_name == "string" and shape.enum and value not in shape.enum:
        rules.append(f"satisfy enum value set: [{', '.join(shape.enum)}]")
    if shape.type_name == "string" and "pattern" in limits and not re.search(limits["pattern"], value):
        rules.append(f"satisfy regular expression pattern: {limits['pattern']}")
    return rules


def check_type(shape: Shape, value: Any, path: str) -> None:
    """A value of the wrong JSON type cannot be deserialized at all: SerializationException, as on AWS."""
    expected = JSON_TYPES.get(shape.type_name, (object,))
    if isinstance(value, bool) != (bool in expected) or not isinstance(value, expected):
        raise ServiceError("SerializationException",
                           f"Value {json.dumps(value)} at '{path or 'request'}' is not a valid {shape.type_name}.")


def render(shape: Shape, value: Any) -> str:
    """``value`` the way AWS's (Java) front end prints it in a validation message."""
    if shape.type_name in ("float", "double"):
        return f"'{float(value)}'"
    if shape.type_name == "list":
        return f"'[{', '.join(str(item) for item in value)}]'"
    return f"'{value}'"


def lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]
