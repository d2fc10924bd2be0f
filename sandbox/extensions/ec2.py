"""EC2: Local Zones, subnets on Outposts, what instance types Local Zones offer, and placement groups.

moto 5.2 knows only Region Availability Zones, ignores ``OutpostArn`` on ``CreateSubnet`` and fails
on the ``outpost-arn`` subnet filter. Local Zones are added to moto's zone table, keyed by their
zone group rather than their Region: moto creates subnets in any zone of that table but lists only
the zones keyed by the caller's Region, so Local Zones stay out of its default answers, as they
must. ``DescribeAvailabilityZones`` is answered here, to list them when the caller asks for them.

moto has no placement groups; CreatePlacementGroup, DescribePlacementGroups and DeletePlacementGroup are answered
here from a table of this extension (strategy, spread level, partition count and tags as given).
"""

from __future__ import annotations

import fnmatch
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends
from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend, Zone
from moto.ec2.models.instance_types import INSTANCE_TYPE_OFFERINGS
from werkzeug.wrappers import Response

from sandbox.extensions.base import Extension, Handler
from sandbox.protocol import AwsRequest, Forward, XmlDocument, replace_body, request_id

EC2_NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/"


@dataclass(frozen=True)
class LocalZone:
    """A Local Zone as AWS describes it; its group is its name without the zone letter."""

    name: str
    zone_id: str
    parent_zone_name: str
    long_name: str

    @property
    def region(self) -> str:
        return "-".join(self.name.split("-")[:3])

    @property
    def group(self) -> str:
        return self.name[:-1]


LOCAL_ZONES = (
    LocalZone("us-east-1-bos-1a", "use1-bos1-az1", "us-east-1a", "US East (Boston) 1"),
    LocalZone("us-east-1-mia-1a", "use1-mia1-az1", "us-east-1b", "US East (Miami) 1"),
    LocalZone("us-east-1-dfw-1a", "use1-dfw1-az1", "us-east-1c", "US East (Dallas) 1"),
    LocalZone("us-west-2-lax-1a", "usw2-lax1-az1", "us-west-2a", "US West (Los Angeles) 1"),
    LocalZone("us-west-2-lax-1b", "usw2-lax1-az2", "us-west-2b", "US West (Los Angeles) 1"),
    LocalZone("us-west-2-las-1a", "usw2-las1-az1", "us-west-2c", "US West (Las Vegas) 1"),
)

# Local Zones offer a small slice of the Region's instance types.
LOCAL_ZONE_INSTANCE_TYPES = ("t3.medium", "t3.xlarge", "c5.2xlarge", "r5.2xlarge", "m5.2xlarge", "g4dn.2xlarge")

# DescribeAvailabilityZones filter name -> field of a described zone.
ZONE_FILTERS = {
    "zone-name": "ZoneName",
    "zone-id": "ZoneId",
    "zone-type": "ZoneType",
    "region-name": "RegionName",
    "state": "State",
    "group-name": "GroupName",
    "group-long-name": "GroupLongName",
    "network-border-group": "NetworkBorderGroup",
    "opt-in-status": "OptInStatus",
    "parent-zone-name": "ParentZoneName",
    "parent-zone-id": "ParentZoneId",
}
# Filters that select zones by what they are, so they also reach Local Zones (as on AWS).
LOCAL_ZONE_SELECTORS = set(ZONE_FILTERS) - {"region-name", "state"}

# Element name of each described-zone field in the EC2 XML answer, in AWS's order.
ZONE_ELEMENTS = {
    "ZoneName": "zoneName",
    "State": "zoneState",
    "RegionName": "regionName",
    "ZoneId": "zoneId",
    "ZoneType": "zoneType",
    "OptInStatus": "optInStatus",
    "GroupName": "groupName",
    "GroupLongName": "groupLongName",
    "NetworkBorderGroup": "networkBorderGroup",
    "ParentZoneName": "parentZoneName",
    "ParentZoneId": "parentZoneId",
}


class Ec2Extension(Extension):
    service = "ec2"

    def __init__(self) -> None:
        # (Region, group name) -> the placement group as DescribePlacementGroups describes it.
        self.placement_groups: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def install(self) -> None:
        """Add the Local Zones to moto's zone table and their offerings to its offering tables."""
        for local_zone in LOCAL_ZONES:
            group = RegionsAndZonesBackend.zones.setdefault(local_zone.group, [])
            if all(zone.name != local_zone.name for zone in group):
                group.append(Zone(local_zone.name, local_zone.region, local_zone.zone_id, "local-zone"))
                add_offerings(local_zone)

    def route(self, request: AwsRequest) -> Handler | None:
        return {
            "DescribeAvailabilityZones": self.describe_availability_zones,
            "CreateSubnet": self.create_subnet,
            "DescribeSubnets": self.describe_subnets,
            "CreatePlacementGroup": self.create_placement_group,
            "DescribePlacementGroups": self.describe_placement_groups,
            "DeletePlacementGroup": self.delete_placement_group,
        }.get(request.action or "")

    def describe_availability_zones(self, request: AwsRequest, forward: Forward) -> Response:
        """Region zones, plus Local Zones when the call asks for all zones or selects zones."""
        filters = request.filters()
        unknown = sorted(set(filters) - set(ZONE_FILTERS))
        if unknown:
            return ec2_error("InvalidParameterValue", f"The filter '{unknown[0]}' is invalid")
        names, ids = request.param_list("ZoneName"), request.param_list("ZoneId")
        zones = [describe_region_zone(z) for z in RegionsAndZonesBackend.zones.get(request.region, [])]
        if request.params.get("AllAvailabilityZones") == "true" or names or ids or LOCAL_ZONE_SELECTORS & set(filters):
            zones += [describe_local_zone(z) for z in LOCAL_ZONES if z.region == request.region]
        selected = [
            zone for zone in zones
            if (not names or zone["ZoneName"] in names)
            and (not ids or zone["ZoneId"] in ids)
            and all(matches(zone.get(ZONE_FILTERS[name]), values) for name, values in filters.items())
        ]
        return render_zones(selected)

    def create_subnet(self, request: AwsRequest, forward: Forward) -> Response:
        """moto's subnet, which also keeps the ``OutpostArn`` it was created with."""
        response = forward(request)
        outpost_arn = request.params.get("OutpostArn")
        if not outpost_arn or response.status_code != 200:
            return response
        document = XmlDocument.parse(response.get_data())
        subnet = document.find("subnet")
        # moto serializes any attribute named after the model field, so DescribeSubnets shows it too.
        backend(request).get_subnet(document.text("subnetId", subnet)).outpost_arn = outpost_arn
        document.add(subnet, "outpostArn", outpost_arn)
        return replace_body(response, document)

    def describe_subnets(self, request: AwsRequest, forward: Forward) -> Response:
        """moto's answer, with the ``outpost-arn`` filter (which moto rejects) applied here."""
        wanted = request.filters().get("outpost-arn")
        if wanted is None:
            return forward(request)
        response = forward(request.without_filter("outpost-arn"))
        if response.status_code != 200:
            return response
        document = XmlDocument.parse(response.get_data())
        subnet_set = document.find("subnetSet")
        for item in document.findall("item", subnet_set):
            if not matches(document.text("outpostArn", item), wanted):
                subnet_set.remove(item)
        return replace_body(response, document)


    # -- placement groups -------------------------------------------------------------------------

    def create_placement_group(self, request: AwsRequest, forward: Forward) -> Response:
        params = request.params
        name = params.get("GroupName", "")
        strategy = params.get("Strategy", "")
        if strategy not in ("cluster", "spread", "partition"):
            return ec2_error("InvalidParameterValue", f"Value ({strategy}) for parameter strategy is invalid.")
        tags = [{"key": params[key], "value": params.get(key[:-3] + "Value", "")}
                for key in sorted(params) if key.startswith("TagSpecification.1.Tag.") and key.endswith(".Key")]
        group_id = "pg-" + uuid.uuid4().hex[:17]
        account = DEFAULT_ACCOUNT_ID
        group = {"groupName": name, "state": "available", "strategy": strategy,
                 "partitionCount": params.get("PartitionCount"), "groupId": group_id,
                 "spreadLevel": params.get("SpreadLevel") or ("rack" if strategy == "spread" else None),
                 "groupArn": f"arn:aws:ec2:{request.region}:{account}:placement-group/{name}", "tags": tags}
        with self._lock:
            if (request.region, name) in self.placement_groups:
                return ec2_error("InvalidPlacementGroup.Duplicate", f"The Placement Group '{name}' already exists.")
            self.placement_groups[(request.region, name)] = group
        document = XmlDocument.new("CreatePlacementGroupResponse", EC2_NAMESPACE)
        document.add(None, "requestId", request_id())
        document.add(None, "return", True)
        render_placement_group(document, document.add(None, "placementGroup"), group)
        return document.response()

    def describe_placement_groups(self, request: AwsRequest, forward: Forward) -> Response:
        names = request.param_list("GroupName")
        ids = request.param_list("GroupId")
        with self._lock:
            groups = [g for (region, _), g in self.placement_groups.items() if region == request.region]
        for name in names:
            if not any(g["groupName"] == name for g in groups):
                return ec2_error("InvalidPlacementGroup.Unknown", f"The Placement Group '{name}' is unknown.")
        selected = [g for g in groups if (not names or g["groupName"] in names) and (not ids or g["groupId"] in ids)]
        document = XmlDocument.new("DescribePlacementGroupsResponse", EC2_NAMESPACE)
        document.add(None, "requestId", request_id())
        group_set = document.add(None, "placementGroupSet")
        for group in selected:
            render_placement_group(document, document.add(group_set, "item"), group)
        return document.response()

    def delete_placement_group(self, request: AwsRequest, forward: Forward) -> Response:
        name = request.params.get("GroupName", "")
        with self._lock:
            if self.placement_groups.pop((request.region, name), None) is None:
                return ec2_error("InvalidPlacementGroup.Unknown", f"The Placement Group '{name}' is unknown.")
        document = XmlDocument.new("DeletePlacementGroupResponse", EC2_NAMESPACE)
        document.add(None, "requestId", request_id())
        document.add(None, "return", True)
        return document.response()


def render_placement_group(document: XmlDocument, element: Any, group: dict[str, Any]) -> None:
    document.add_fields(element, {k: v for k, v in group.items() if k != "tags"})
    tag_set = document.add(element, "tagSet")
    for tag in group["tags"]:
        document.add_fields(document.add(tag_set, "item"), tag)


def backend(request: AwsRequest) -> Any:
    """moto's EC2 backend serving ``request``."""
    return ec2_backends[DEFAULT_ACCOUNT_ID][request.region]


def add_offerings(local_zone: LocalZone) -> None:
    """Make moto's DescribeInstanceTypeOfferings answer for ``local_zone`` (by name and by id)."""
    for location_type, location in (("availability-zone", local_zone.name),
                                    ("availability-zone-id", local_zone.zone_id)):
        offerings = INSTANCE_TYPE_OFFERINGS[location_type].setdefault(local_zone.region, [])
        offerings.extend(
            {"InstanceType": instance_type, "Location": location, "LocationType": location_type}
            for instance_type in LOCAL_ZONE_INSTANCE_TYPES
        )


def describe_region_zone(zone: Zone) -> dict[str, Any]:
    """A Region AZ from moto's table, as DescribeAvailabilityZones describes it."""
    return {
        "ZoneName": zone.name,
        "State": zone.state,
        "RegionName": zone.region_name,
        "ZoneId": zone.zone_id,
        "ZoneType": zone.zone_type,
        "OptInStatus": "opt-in-not-required",
        "GroupName": zone.region_name,
        "NetworkBorderGroup": zone.region_name,
    }


def describe_local_zone(local_zone: LocalZone) -> dict[str, Any]:
    """A Local Zone as DescribeAvailabilityZones describes it; its parent's id comes from moto."""
    parent = next(z for z in RegionsAndZonesBackend.zones[local_zone.region] if z.name == local_zone.parent_zone_name)
    return {
        "ZoneName": local_zone.name,
        "State": "available",
        "RegionName": local_zone.region,
        "ZoneId": local_zone.zone_id,
        "ZoneType": "local-zone",
        "OptInStatus": "opted-in",
        "GroupName": local_zone.group,
        "GroupLongName": local_zone.long_name,
        "NetworkBorderGroup": local_zone.group,
        "ParentZoneName": parent.name,
        "ParentZoneId": parent.zone_id,
    }


def matches(value: str | None, patterns: list[str]) -> bool:
    """EC2 filter semantics: any of the values matches, ``*`` and ``?`` as wildcards."""
    return value is not None and any(fnmatch.fnmatchcase(value, p) for p in patterns)


def render_zones(zones: list[dict[str, Any]]) -> Response:
    document = XmlDocument.new("DescribeAvailabilityZonesResponse", EC2_NAMESPACE)
    document.add(None, "requestId", request_id())
    zone_info = document.add(None, "availabilityZoneInfo")
    for zone in zones:
        item = document.add(zone_info, "item")
        document.add_fields(item, {element: zone.get(field) for field, element in ZONE_ELEMENTS.items()})
        document.add(item, "messageSet")
    return document.response()


def ec2_error(code: str, message: str) -> Response:
    """An EC2 client error in the query protocol's XML form."""
    document = XmlDocument.new("Response", "")
    error = document.add(document.add(None, "Errors"), "Error")
    document.add_fields(error, {"Code": code, "Message": message})
    document.add(None, "RequestID", request_id())
    return document.response(400)
