"""Amazon EFS: mount targets as AWS creates them, and no mount targets (or One Zone file systems) in Local Zones.

moto keeps the file systems, mount targets and access points. What it lacks is answered or adjusted here:

- CreateMountTarget in a subnet of a Local Zone is refused with ``UnsupportedAvailabilityZone`` (400): EFS
  has no mount targets there, so the file system's DNS name resolves in no Local Zone. CreateFileSystem
  refuses a One Zone file system in a Local Zone the same way, and CreateMountTarget refuses a subnet
  outside a One Zone file system's zone with ``AvailabilityZonesMismatch``. An unknown subnet is
  ``SubnetNotFound`` with AWS's status 400 (moto says 404).
- A new mount target is ``creating`` (with its IP address from the subnet and its zone name and id) and
  turns ``available`` MOUNT_TARGET_SECONDS * time_scale seconds later; DescribeMountTargets shows that.
- A mount target created without security groups gets its VPC's default security group, as in AWS.
- DescribeMountTargets by an unknown AccessPointId is ``AccessPointNotFound`` (moto fails with a 500).
- The older tag calls DescribeTags, CreateTags and DeleteTags (which community.aws.efs uses) work on the same
  tags as ListTagsForResource; moto has only the newer ones.

``status()["efs"]`` lists every file system with its DNS name and its mount targets' zones and addresses.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.exceptions import InvalidSubnetIdError
from moto.ec2.models import ec2_backends
from moto.efs.models import efs_backends
from werkzeug.wrappers import Response

from sandbox.extensions.base import Extension, Handler
from sandbox.extensions.ec2 import LOCAL_ZONES
from sandbox.protocol import AwsRequest, Forward, json_response

MOUNT_TARGET_SECONDS = 60.0  # seconds from CreateMountTarget until the mount target is available
LOCAL_ZONE_NAMES = frozenset(zone.name for zone in LOCAL_ZONES)

_FILE_SYSTEMS = re.compile(r"/2015-02-01/file-systems/?")
_MOUNT_TARGETS = re.compile(r"/2015-02-01/mount-targets/?")
_TAGS = re.compile(r"/2015-02-01/(?P<action>tags|create-tags|delete-tags)/(?P<file_system>[^/]+)/?")


def dns_name(file_system_id: str, region: str) -> str:
    """The name every client in the Region mounts the file system by."""
    return f"{file_system_id}.efs.{region}.amazonaws.com"


class EfsExtension(Extension):
    service = "elasticfilesystem"

    def __init__(self, time_scale: float):
        self.time_scale = time_scale
        self.created_at: dict[str, float] = {}  # mount target id -> monotonic time of its creation

    def route(self, request: AwsRequest) -> Handler | None:
        if _FILE_SYSTEMS.fullmatch(request.path) and request.method == "POST":
            return self.create_file_system
        if _MOUNT_TARGETS.fullmatch(request.path):
            return {"POST": self.create_mount_target, "GET": self.describe_mount_targets}.get(request.method)
        match = _TAGS.fullmatch(request.path)
        if match and request.method == ("GET" if match["action"] == "tags" else "POST"):
            return self.old_tags
        return None

    def old_tags(self, request: AwsRequest, _forward: Forward) -> Response:
        """DescribeTags, CreateTags and DeleteTags of a file system, on moto's tags of it."""
        match = _TAGS.fullmatch(request.path)
        efs, file_system_id = backend(request.region), match["file_system"]
        if file_system_id not in efs.file_systems_by_id:
            return efs_error("FileSystemNotFound", f"File system '{file_system_id}' does not exist.", 404)
        tagging = efs.tagging_service
        if match["action"] == "tags":
            return json_response({"Tags": tagging.list_tags_for_resource(file_system_id)["Tags"]}, 200)
        body = json.loads(request.body or b"{}")
        if match["action"] == "create-tags":
            tagging.tag_resource(file_system_id, body.get("Tags") or [])
        else:
            tagging.untag_resource_using_names(file_system_id, body.get("TagKeys") or [])
        return Response(status=204)

    def create_file_system(self, request: AwsRequest, forward: Forward) -> Response:
        """moto's file system, unless it is a One Zone file system in a Local Zone."""
        zone = json.loads(request.body or b"{}").get("AvailabilityZoneName")
        if zone in LOCAL_ZONE_NAMES:
            return unsupported_zone(zone)
        return forward(request)

    def create_mount_target(self, request: AwsRequest, forward: Forward) -> Response:
        """moto's mount target in a Region subnet, ``creating`` at first; refused in a Local Zone."""
        body = json.loads(request.body or b"{}")
        try:
            subnet = ec2_backends[DEFAULT_ACCOUNT_ID][request.region].get_subnet(body.get("SubnetId", ""))
        except InvalidSubnetIdError:
            return efs_error("SubnetNotFound", f"The subnet ID '{body.get('SubnetId')}' does not exist", 400)
        if subnet.availability_zone in LOCAL_ZONE_NAMES:
            return unsupported_zone(subnet.availability_zone)
        file_system = backend(request.region).file_systems_by_id.get(body.get("FileSystemId"))
        one_zone = file_system.availability_zone_name if file_system else None
        if one_zone and one_zone != subnet.availability_zone:
            return efs_error("AvailabilityZonesMismatch",
                             f"The mount target's Availability Zone {subnet.availability_zone} is not the One Zone "
                             f"file system's Availability Zone {one_zone}.", 400)
        response = forward(request)
        if response.status_code != 200:
            return response
        answer = json.loads(response.get_data())
        self.created_at[answer["MountTargetId"]] = time.monotonic()
        if not body.get("SecurityGroups"):
            # As AWS does, a mount target created without security groups gets the VPC's default one.
            default = ec2_backends[DEFAULT_ACCOUNT_ID][request.region].get_security_group_from_name("default", subnet.vpc_id)
            target = backend(request.region).mount_targets_by_id.get(answer["MountTargetId"])
            if default is not None and target is not None:
                target.security_groups = [default.id]
        answer["LifeCycleState"] = self.life_cycle_state(answer["MountTargetId"])
        response.set_data(json.dumps(answer))
        return response

    def describe_mount_targets(self, request: AwsRequest, forward: Forward) -> Response:
        """moto's answer with each mount target's life-cycle state as of now."""
        access_point = request.query.get("AccessPointId")
        if access_point and access_point not in backend(request.region).access_points:
            return efs_error("AccessPointNotFound", f"Access Point {access_point} does not exist.", 404)
        response = forward(request)
        if response.status_code != 200:
            return response
        answer = json.loads(response.get_data())
        for mount_target in answer.get("MountTargets", []):
            mount_target["LifeCycleState"] = self.life_cycle_state(mount_target["MountTargetId"])
        response.set_data(json.dumps(answer))
        return response

    def life_cycle_state(self, mount_target_id: str) -> str:
        created = self.created_at.get(mount_target_id)
        ready = created is None or time.monotonic() - created >= MOUNT_TARGET_SECONDS * self.time_scale
        return "available" if ready else "creating"

    def status(self) -> dict[str, Any]:
        """Every file system of every Region, with its DNS name and its mount targets."""
        return {"efs": [
            {"file_system_id": file_system.file_system_id, "region": region,
             "dns_name": dns_name(file_system.file_system_id, region),
             "mount_targets": [{"id": target.mount_target_id, "zone": target.availability_zone_name,
                                "ip": target.ip_address} for target in file_system.iter_mount_targets()]}
            for region, efs in list(efs_backends[DEFAULT_ACCOUNT_ID].items())
            for file_system in list(efs.file_systems_by_id.values())
        ]}


def backend(region: str) -> Any:
    """moto's EFS backend of ``region``."""
    return efs_backends[DEFAULT_ACCOUNT_ID][region]


def unsupported_zone(zone: str) -> Response:
    return efs_error("UnsupportedAvailabilityZone",
                     f"The requested Amazon EFS functionality is not available in the specified Availability Zone "
                     f"({zone}).", 400)


def efs_error(code: str, message: str, status: int) -> Response:
    """An EFS error as AWS sends it: ``ErrorCode`` and ``Message`` in the body, the code in ``x-amzn-ErrorType``."""
    return json_response({"ErrorCode": code, "Message": message}, status, {"x-amzn-ErrorType": code})
