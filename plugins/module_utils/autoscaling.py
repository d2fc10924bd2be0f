# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Amazon EC2 Auto Scaling helpers: the Auto Scaling group of a self-managed node group.

* thin wrappers, one per call, retried with ``AWSRetry.jittered_backoff`` and raising ``AnsibleAutoScalingError``;
* pure functions: the group's wanted settings and what differs from an existing group.
"""

from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# The launch template version the group launches: new versions apply to new instances without touching the group.
LAUNCH_TEMPLATE_VERSION = "$Latest"


class AnsibleAutoScalingError(AnsibleAWSError):
    pass


class AutoScalingErrorHandler(AWSErrorHandler):
    # DescribeAutoScalingGroups answers an unknown name with an empty list, not an error: nothing means "missing".
    _CUSTOM_EXCEPTION = AnsibleAutoScalingError


# ---------------------------------------------------------------------------
# AWS calls: one each
# ---------------------------------------------------------------------------


@AutoScalingErrorHandler.common_error_handler("describe Auto Scaling group")
@AWSRetry.jittered_backoff()
def describe_group(client, name):
    """The Auto Scaling group named ``name``, or None."""
    groups = client.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return groups[0] if groups else None


@AutoScalingErrorHandler.common_error_handler("create Auto Scaling group")
@AWSRetry.jittered_backoff()
def create_group(client, settings):
    return client.create_auto_scaling_group(**settings)


@AutoScalingErrorHandler.common_error_handler("update Auto Scaling group")
@AWSRetry.jittered_backoff()
def update_group(client, name, changes):
    return client.update_auto_scaling_group(AutoScalingGroupName=name, **changes)


# ---------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------


def group_settings(name, launch_template_name, subnet_ids, min_size, max_size, desired_size, tags,
                   placement_group=None):
    """``CreateAutoScalingGroup`` parameters of a node group's Auto Scaling group; ``tags`` propagate to instances."""
    settings = {
        "AutoScalingGroupName": name,
        "LaunchTemplate": {"LaunchTemplateName": launch_template_name, "Version": LAUNCH_TEMPLATE_VERSION},
        "MinSize": min_size,
        "MaxSize": max_size,
        "DesiredCapacity": desired_size,
        "VPCZoneIdentifier": ",".join(sorted(subnet_ids)),
        "Tags": [{"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in sorted(tags.items())],
    }
    if placement_group:
        settings["PlacementGroup"] = placement_group
    return settings


def group_changes(current, wanted):
    """``UpdateAutoScalingGroup`` parameters that make the described group ``current`` match ``wanted`` (settings as
    ``group_settings`` makes them); {} when it already does. Tags are not compared: they are set at creation."""
    changes = {}
    for key in ("MinSize", "MaxSize", "DesiredCapacity"):
        if current.get(key) != wanted[key]:
            changes[key] = wanted[key]
    have = sorted(filter(None, (current.get("VPCZoneIdentifier") or "").split(",")))
    if have != sorted(wanted["VPCZoneIdentifier"].split(",")):
        changes["VPCZoneIdentifier"] = wanted["VPCZoneIdentifier"]
    template = current.get("LaunchTemplate") or {}
    if (template.get("LaunchTemplateName") != wanted["LaunchTemplate"]["LaunchTemplateName"]
            or template.get("Version") != wanted["LaunchTemplate"]["Version"]):
        changes["LaunchTemplate"] = wanted["LaunchTemplate"]
    if wanted.get("PlacementGroup") and current.get("PlacementGroup") != wanted["PlacementGroup"]:
        changes["PlacementGroup"] = wanted["PlacementGroup"]
    return changes
