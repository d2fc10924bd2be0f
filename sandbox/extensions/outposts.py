"""AWS Outposts (rest-json), which moto does not have: ListOutposts, GetOutpost, GetOutpostInstanceTypes.

The Outposts are the ones seeded subnets declare (``outpost_arn`` in an inventory), registered with
the site that owns them; the Outpost is named after that site.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend
from moto.ec2.models.instance_types import INSTANCE_TYPES
from werkzeug.wrappers import Response

from sandbox.extensions.base import Extension, Handler
from sandbox.protocol import AwsRequest, Forward, json_response, rest_json_error
from sandbox.state import SiteRegistry

# A rack's worth of capacity: the instance types an Outpost is typically ordered with.
OUTPOST_INSTANCE_TYPES = ("m5.xlarge", "m5.2xlarge", "c5.2xlarge", "r5.2xlarge", "m5.4xlarge")

_OUTPOST_PATH = re.compile(r"/outposts/(?P<outpost>.+?)(?P<instance_types>/instanceTypes)?/?")


class OutpostsExtension(Extension):
    service = "outposts"

    def __init__(self, sites: SiteRegistry):
        self.sites = sites

    def route(self, request: AwsRequest) -> Handler | None:
        if request.method != "GET":
            return unsupported
        if request.path.rstrip("/") == "/outposts":
            return self.list_outposts
        match = _OUTPOST_PATH.fullmatch(request.path)
        if not match:
            return unsupported
        return self.get_outpost_instance_types if match["instance_types"] else self.get_outpost

    def list_outposts(self, request: AwsRequest, forward: Forward) -> Response:
        """The Region's Outposts, narrowed by the AZ / AZ id / life-cycle filters when given."""
        filters = {
            "AvailabilityZone": request.query_values("AvailabilityZoneFilter"),
            "AvailabilityZoneId": request.query_values("AvailabilityZoneIdFilter"),
            "LifeCycleStatus": request.query_values("LifeCycleStatusFilter"),
        }
        outposts = [
            outpost for outpost in self.outposts()
            if arn_region(outpost["OutpostArn"]) == request.region
            and all(not wanted or outpost[field] in wanted for field, wanted in filters.items())
        ]
        return json_response({"Outposts": outposts})

    def get_outpost(self, request: AwsRequest, forward: Forward) -> Response:
        outpost = self.find(request)
        return json_response({"Outpost": outpost}) if outpost else not_found(request)

    def get_outpost_instance_types(self, request: AwsRequest, forward: Forward) -> Response:
        outpost = self.find(request)
        if not outpost:
            return not_found(request)
        return json_response({
            "InstanceTypes": [
                {"InstanceType": t, "VCPUs": INSTANCE_TYPES[t]["VCpuInfo"]["DefaultVCpus"]}
                for t in OUTPOST_INSTANCE_TYPES
            ],
            "OutpostId": outpost["OutpostId"],
            "OutpostArn": outpost["OutpostArn"],
        })

    def find(self, request: AwsRequest) -> dict[str, Any] | None:
        """The Outpost the call's path names, by id or by ARN."""
        wanted = _OUTPOST_PATH.fullmatch(request.path)["outpost"]
        return next((o for o in self.outposts() if wanted in (o["OutpostId"], o["OutpostArn"])), None)

    def outposts(self) -> list[dict[str, Any]]:
        """Every Outpost the registered sites declare, described as GetOutpost does."""
        return [
            describe_outpost(site.name, outpost["arn"], outpost["availability_zone"])
            for site in self.sites.all()
            for outpost in site.attributes.get("outposts", [])
        ]


def describe_outpost(site_name: str, arn: str, availability_zone: str) -> dict[str, Any]:
    """An Outpost as the Outposts API describes it; its site id is derived from the site name."""
    region, account = arn_region(arn), arn.split(":")[4]
    site_id = "os-" + hashlib.sha256(site_name.encode()).hexdigest()[:17]
    return {
        "OutpostId": arn.rsplit("/", 1)[-1],
        "OwnerId": account,
        "OutpostArn": arn,
        "SiteId": site_id,
        "SiteArn": f"arn:aws:outposts:{region}:{account}:site/{site_id}",
        "Name": site_name,
        "Description": f"Outpost of site {site_name}",
        "LifeCycleStatus": "ACTIVE",
        "AvailabilityZone": availability_zone,
        "AvailabilityZoneId": zone_id(availability_zone),
        "SupportedHardwareType": "RACK",
        "Tags": {},
    }


def arn_region(arn: str) -> str:
    return arn.split(":")[3]


def zone_id(zone_name: str) -> str | None:
    """The zone id moto's zone table gives ``zone_name``."""
    zones = (z for group in RegionsAndZonesBackend.zones.values() for z in group)
    return next((z.zone_id for z in zones if z.name == zone_name), None)


def not_found(request: AwsRequest) -> Response:
    outpost = _OUTPOST_PATH.fullmatch(request.path)["outpost"]
    return rest_json_error("NotFoundException", f"Outpost {outpost} not found.", 404)


def unsupported(request: AwsRequest, forward: Forward) -> Response:
    return rest_json_error(
        "ValidationException",
        f"The sandbox emulates only ListOutposts, GetOutpost and GetOutpostInstanceTypes, not {request.method} {request.path}.",
        400,
    )
