# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Amazon EC2 helpers for the nodes of a site: subnets and zones, instance type offerings, launch templates,
placement groups and the node security group.

* thin wrappers, one per EC2 call, retried with ``AWSRetry.jittered_backoff`` and raising ``AnsibleEC2Error``;
* pure functions (plain values in, plain values out): what kind of site a subnet is in, the launch template data
  of a self-managed node group, and the CIDR ingress rules between node subnets.
"""

import base64

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

REGION = "region"
LOCAL_ZONE = "local_zone"
OUTPOST = "outpost"
SITE_KINDS = (REGION, LOCAL_ZONE, OUTPOST)
# DNS between nodes (CoreDNS pods on one Outpost answering pods on another): TCP and UDP 53.
DNS_PORT = 53


class AnsibleEC2Error(AnsibleAWSError):
    pass


class EC2ErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleEC2Error

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(["InvalidSubnetID.NotFound", "InvalidLaunchTemplateName.NotFoundException",
                                    "InvalidLaunchTemplateId.NotFound", "InvalidGroup.NotFound",
                                    "InvalidPlacementGroup.Unknown"])


# ---------------------------------------------------------------------------
# AWS calls: one each
# ---------------------------------------------------------------------------


@EC2ErrorHandler.common_error_handler("describe subnets")
@AWSRetry.jittered_backoff()
def describe_subnets(client, filters):
    """The subnets matching ``filters`` (a filter, unlike ``SubnetIds``, does not fail on ids that do not exist)."""
    return client.get_paginator("describe_subnets").paginate(Filters=filters).build_full_result()["Subnets"]


@EC2ErrorHandler.common_error_handler("describe availability zones")
@AWSRetry.jittered_backoff()
def describe_zones(client, zone_names):
    """The zones named ``zone_names``, Local Zones included."""
    return client.describe_availability_zones(ZoneNames=list(zone_names), AllAvailabilityZones=True)[
        "AvailabilityZones"]


@EC2ErrorHandler.common_error_handler("describe instance type offerings")
@AWSRetry.jittered_backoff()
def zone_instance_types(client, zone_name):
    """The instance types offered in zone ``zone_name`` (an Availability Zone or a Local Zone)."""
    pages = client.get_paginator("describe_instance_type_offerings").paginate(
        LocationType="availability-zone", Filters=[{"Name": "location", "Values": [zone_name]}])
    return sorted({o["InstanceType"] for o in pages.build_full_result()["InstanceTypeOfferings"]})


@EC2ErrorHandler.list_error_handler("describe launch template")
@AWSRetry.jittered_backoff()
def describe_launch_template(client, name):
    """The launch template named ``name``, or None."""
    templates = client.describe_launch_templates(LaunchTemplateNames=[name])["LaunchTemplates"]
    return templates[0] if templates else None


@EC2ErrorHandler.common_error_handler("describe launch template version")
@AWSRetry.jittered_backoff()
def launch_template_version(client, template_id, version):
    """Version ``version`` (a number, ``$Latest`` or ``$Default``) of a launch template."""
    return client.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=[str(version)])[
        "LaunchTemplateVersions"][0]


@EC2ErrorHandler.common_error_handler("create launch template")
@AWSRetry.jittered_backoff()
def create_launch_template(client, name, data, tags):
    return client.create_launch_template(
        LaunchTemplateName=name, LaunchTemplateData=data, VersionDescription="eks_site",
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": tag_list(tags)}])["LaunchTemplate"]


@EC2ErrorHandler.common_error_handler("create launch template version")
@AWSRetry.jittered_backoff()
def create_launch_template_version(client, template_id, data):
    return client.create_launch_template_version(LaunchTemplateId=template_id, LaunchTemplateData=data,
                                                 VersionDescription="eks_site")["LaunchTemplateVersion"]


@EC2ErrorHandler.common_error_handler("set the default launch template version")
@AWSRetry.jittered_backoff()
def set_default_version(client, template_id, version):
    return client.modify_launch_template(LaunchTemplateId=template_id, DefaultVersion=str(version))["LaunchTemplate"]


@EC2ErrorHandler.list_error_handler("describe placement group")
@AWSRetry.jittered_backoff()
def describe_placement_group(client, name):
    """The placement group named ``name``, or None."""
    groups = client.describe_placement_groups(GroupNames=[name])["PlacementGroups"]
    return groups[0] if groups else None


@EC2ErrorHandler.common_error_handler("create placement group")
@AWSRetry.jittered_backoff()
def create_placement_group(client, name, spread_level=None, tags=None):
    params = dict(GroupName=name, Strategy="spread",
                  TagSpecifications=[{"ResourceType": "placement-group", "Tags": tag_list(tags or {})}])
    if spread_level:
        params["SpreadLevel"] = spread_level
    return client.create_placement_group(**params)


@EC2ErrorHandler.common_error_handler("describe security groups")
@AWSRetry.jittered_backoff()
def find_security_group(client, vpc_id, name):
    """The security group named ``name`` in ``vpc_id``, or None."""
    groups = client.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                      {"Name": "group-name", "Values": [name]}])["SecurityGroups"]
    return groups[0] if groups else None


@EC2ErrorHandler.common_error_handler("create security group")
@AWSRetry.jittered_backoff()
def create_security_group(client, vpc_id, name, description, tags):
    return client.create_security_group(
        VpcId=vpc_id, GroupName=name, Description=description,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list(tags)}])["GroupId"]


@EC2ErrorHandler.common_error_handler("authorize security group ingress")
@AWSRetry.jittered_backoff()
def authorize_ingress(client, group_id, permissions):
    return client.authorize_security_group_ingress(GroupId=group_id, IpPermissions=permissions)


# ---------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------


def tag_list(tags):
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def subnet_site_kind(subnet, zone_types):
    """The kind of site a described subnet is in: V(outpost) when it has an ``OutpostArn``, V(local_zone) when its
    zone's type is ``local-zone``, else V(region). ``zone_types`` maps zone name -> ``ZoneType``.

    Returns None for other zone types (Wavelength Zones), which a site cannot use.
    """
    if subnet.get("OutpostArn"):
        return OUTPOST
    zone_type = zone_types.get(subnet["AvailabilityZone"], "availability-zone")
    if zone_type == "local-zone":
        return LOCAL_ZONE
    if zone_type == "availability-zone":
        return REGION
    return None


def describe_subnet(subnet, zone_types):
    """What a site needs to know about a described subnet."""
    return {
        "subnet_id": subnet["SubnetId"],
        "name": next((t["Value"] for t in subnet.get("Tags") or [] if t["Key"] == "Name"), None),
        "vpc_id": subnet["VpcId"],
        "cidr": subnet["CidrBlock"],
        "zone": subnet["AvailabilityZone"],
        "outpost_arn": subnet.get("OutpostArn"),
        "site_kind": subnet_site_kind(subnet, zone_types),
    }


def node_ingress_rules(cidrs):
    """Ingress rules that let nodes in ``cidrs`` reach each other: all traffic from every node CIDR, plus DNS over
    TCP and UDP 53, in ``AuthorizeSecurityGroupIngress`` form (one permission per protocol and port).

    Security group references do not cross an Outpost's customer network (the local gateway), so the rules name
    CIDRs.
    """
    ranges = [{"CidrIp": cidr, "Description": f"nodes in {cidr}"} for cidr in sorted(set(cidrs))]
    if not ranges:
        return []
    return [
        {"IpProtocol": "-1", "IpRanges": ranges},
        {"IpProtocol": "tcp", "FromPort": DNS_PORT, "ToPort": DNS_PORT, "IpRanges": ranges},
        {"IpProtocol": "udp", "FromPort": DNS_PORT, "ToPort": DNS_PORT, "IpRanges": ranges},
    ]


def _rule_keys(permissions):
    keys = set()
    for permission in permissions:
        for ip_range in permission.get("IpRanges") or []:
            keys.add((permission["IpProtocol"], permission.get("FromPort"), permission.get("ToPort"),
                      ip_range["CidrIp"]))
    return keys


def missing_ingress(current, wanted):
    """The permissions of ``wanted`` that ``current`` (a security group's ``IpPermissions``) lacks, same form."""
    have = _rule_keys(current)
    missing = []
    for permission in wanted:
        ranges = [r for r in permission["IpRanges"]
                  if (permission["IpProtocol"], permission.get("FromPort"), permission.get("ToPort"), r["CidrIp"])
                  not in have]
        if ranges:
            missing.append(dict(permission, IpRanges=ranges))
    return missing


def rule_sentences(permissions):
    """One short phrase per CIDR rule, for ``actions``."""
    phrases = []
    for permission in permissions:
        what = "all traffic" if permission["IpProtocol"] == "-1" else \
            f"{permission['IpProtocol'].upper()} {permission['FromPort']}"
        phrases.extend(f"{what} from {r['CidrIp']}" for r in permission["IpRanges"])
    return phrases


def launch_template_data(image_id, instance_type, user_data, security_group_ids, volume_type, volume_size,
                         instance_profile=None, placement_group=None, tags=None):
    """The ``LaunchTemplateData`` of a self-managed node group: its AMI, instance type, root volume, security groups,
    user data (base64) and, when given, instance profile (ARN or name) and placement group."""
    data = {
        "ImageId": image_id,
        "InstanceType": instance_type,
        "UserData": base64.b64encode(user_data.encode("utf-8")).decode("ascii"),
        "SecurityGroupIds": sorted(security_group_ids),
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {
            "VolumeType": volume_type, "VolumeSize": volume_size, "DeleteOnTermination": True}}],
        "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
    }
    if instance_profile:
        key = "Arn" if instance_profile.startswith("arn:") else "Name"
        data["IamInstanceProfile"] = {key: instance_profile}
    if placement_group:
        data["Placement"] = {"GroupName": placement_group}
    if tags:
        data["TagSpecifications"] = [{"ResourceType": "instance", "Tags": tag_list(tags)}]
    return data


def _normalized(data):
    """The parts of launch template data ``launch_template_data`` sets, in comparable form."""
    data = data or {}
    volumes = []
    for mapping in data.get("BlockDeviceMappings") or []:
        ebs = mapping.get("Ebs") or {}
        volumes.append((mapping.get("DeviceName"), ebs.get("VolumeType"), int(ebs.get("VolumeSize") or 0)))
    tags = sorted((t["Key"], t["Value"]) for spec in data.get("TagSpecifications") or []
                  if spec.get("ResourceType") == "instance" for t in spec.get("Tags") or [])
    metadata = data.get("MetadataOptions") or {}
    return {
        "ImageId": data.get("ImageId"),
        "InstanceType": data.get("InstanceType"),
        "UserData": data.get("UserData"),
        "SecurityGroupIds": sorted(data.get("SecurityGroupIds") or []),
        "Volumes": volumes,
        "IamInstanceProfile": data.get("IamInstanceProfile") or None,
        "PlacementGroup": (data.get("Placement") or {}).get("GroupName"),
        "Tags": tags,
        "HttpTokens": metadata.get("HttpTokens"),
    }


def launch_template_changes(current, wanted):
    """The names of the fields in which launch template data ``current`` differs from ``wanted`` ([] when none)."""
    have, want = _normalized(current), _normalized(wanted)
    return sorted(key for key in want if have[key] != want[key])


def decode_user_data(data):
    """The user data text of launch template data, '' when it has none."""
    encoded = (data or {}).get("UserData")
    return base64.b64decode(encoded).decode("utf-8") if encoded else ""
