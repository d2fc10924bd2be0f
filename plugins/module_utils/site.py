# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The decisions of ``eks_site``, as pure functions: which kind of node group each group is, whether the request
fits the site, and what the site looks like. Subnets here are ``ec2.describe_subnet`` dicts.

The site kind of a subnet is read from EC2 (its ``OutpostArn``, its zone's type), never taken from the input.
The rules checked are the services' own:

* EKS has no managed node groups on AWS Outposts, only self-managed nodes;
* Local Zones take managed and self-managed nodes; their EBS volumes are gp2;
* each Local Zone offers its own instance types (``DescribeInstanceTypeOfferings``), each Outpost the ones it was
  ordered with (``GetOutpostInstanceTypes``);
* the control plane of a cluster in the Region uses Region subnets; a local cluster runs on its Outpost, and so
  do its nodes;
* a node group's subnets are all in the cluster's VPC.
"""

from ansible_collections.eks_ha.resilience.plugins.module_utils.ec2 import LOCAL_ZONE
from ansible_collections.eks_ha.resilience.plugins.module_utils.ec2 import OUTPOST
from ansible_collections.eks_ha.resilience.plugins.module_utils.ec2 import REGION

MANAGED = "managed"
SELF_MANAGED = "self_managed"
AUTO = "auto"
# How specific a site kind is: a site with any Outpost subnet is an Outpost site, and so on.
KIND_ORDER = (REGION, LOCAL_ZONE, OUTPOST)
# Label self-managed nodes get, as managed nodes get eks.amazonaws.com/nodegroup.
NODE_GROUP_LABEL = "eks-ha.resilience/node-group"
LOCAL_ZONE_VOLUME_TYPE = "gp2"
KIND_WORDS = {REGION: "Region Availability Zone", LOCAL_ZONE: "Local Zone", OUTPOST: "Outpost"}


def validate_options(name, cluster, node_groups):
    """The first problem of the options themselves (before anything is read from AWS), or None."""
    names = [g["name"] for g in node_groups]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        return f"node_groups name {', '.join(duplicates)} more than once; give each node group a name of its own."
    for group in node_groups:
        label = f"node_groups[{group['name']}]"
        minimum, maximum, desired = sizes(group)
        if not 0 <= minimum <= desired <= maximum:
            return (f"{label} sizes must satisfy 0 <= min_size <= desired_size <= max_size, got min_size {minimum}, "
                    f"desired_size {desired}, max_size {maximum}.")
        if not group["subnets"]:
            return f"{label}.subnets is empty; give at least one subnet id or Name tag."
        if group.get("volume_size") is not None and group["volume_size"] < 1:
            return f"{label}.volume_size must be at least 1 GiB, got {group['volume_size']}."
    outpost = (cluster or {}).get("outpost")
    if outpost is not None and not outpost.get("outpost_arns"):
        return "cluster.outpost.outpost_arns is empty; a local cluster needs the ARN of the Outpost it runs on."
    if not name or len(name) > 100:
        return f"name must be 1 to 100 characters (an EKS cluster name), got '{name}'."
    return None


def sizes(group):
    """``(min, max, desired)`` of a node group option; min defaults to desired, max to the larger of desired and 1."""
    desired = group["desired_size"]
    minimum = desired if group.get("min_size") is None else group["min_size"]
    maximum = max(desired, 1) if group.get("max_size") is None else group["max_size"]
    return minimum, maximum, desired


def unknown_refs(refs, found):
    """The references of ``refs`` (subnet ids or Name tags) that ``found`` (ref -> subnets) resolves to nothing."""
    return [ref for ref in refs if not found.get(ref)]


def ambiguous_refs(refs, found):
    return [ref for ref in refs if len(found.get(ref) or []) > 1]


def subnet_problem(option, refs, found, region):
    """A sentence for references of ``option`` that name no subnet or several, or None."""
    unknown = unknown_refs(refs, found)
    if unknown:
        return (f"{option} names {', '.join(unknown)}, which is no subnet in {region}; give subnet ids (subnet-...) "
                "or Name tags of existing subnets.")
    ambiguous = ambiguous_refs(refs, found)
    if ambiguous:
        return (f"{option} names {', '.join(ambiguous)}, which is the Name tag of several subnets; give subnet ids "
                "instead.")
    return None


def vpc_problem(option, subnets, vpc_id):
    """A sentence for subnets of ``option`` outside the cluster's VPC ``vpc_id``, or None."""
    outside = [s for s in subnets if s["vpc_id"] != vpc_id]
    if outside:
        listed = ", ".join(f"{s['subnet_id']} ({s['vpc_id']})" for s in outside)
        return (f"{option} has subnets outside the cluster's VPC {vpc_id}: {listed}; give subnets of {vpc_id}, "
                "because an EKS cluster and its nodes share one VPC.")
    return None


def site_kind_of(subnets):
    """The most specific site kind among ``subnets`` (outpost, then local_zone, then region); None for no subnets."""
    kinds = [s["site_kind"] for s in subnets if s["site_kind"] in KIND_ORDER]
    return max(kinds, key=KIND_ORDER.index) if kinds else None


def cluster_subnet_problem(subnets, local_cluster):
    """A sentence refusing control plane subnets of the wrong kind, or None.

    A cluster in the Region puts its control plane network interfaces in Region subnets; a local cluster on
    AWS Outposts puts them in subnets of its Outpost.
    """
    if local_cluster:
        wrong = [s for s in subnets if s["site_kind"] != OUTPOST]
        if wrong:
            return (f"cluster.subnets of a local cluster (cluster.outpost) must be Outpost subnets, but "
                    f"{describe_places(wrong)}; give subnets of the Outpost, or drop cluster.outpost for a cluster "
                    "whose control plane runs in the Region.")
        return None
    wrong = [s for s in subnets if s["site_kind"] != REGION]
    if wrong:
        return (f"cluster.subnets must be subnets of Region Availability Zones for a control plane in the Region, but "
                f"{describe_places(wrong)}; put node groups there instead, or set cluster.outpost for a local cluster "
                "on AWS Outposts.")
    return None


def describe_places(subnets):
    return ", ".join(f"{s['subnet_id']} is in {KIND_WORDS.get(s['site_kind'], 'zone')} {place(s)}" for s in subnets)


def place(subnet):
    return subnet["outpost_arn"] if subnet["site_kind"] == OUTPOST else subnet["zone"]


def group_kind(requested, site_kind):
    """The kind of node group to run: ``requested`` unless V(auto); auto is managed in the Region and self-managed in
    Local Zones and on Outposts."""
    if requested != AUTO:
        return requested
    return MANAGED if site_kind == REGION else SELF_MANAGED


def group_problem(group, subnets, kind, local_cluster_outposts=None):
    """The first rule ``group`` (a node_groups entry, its subnets resolved to ``subnets``) breaks, as a sentence, or
    None. ``kind`` is the group's kind from ``group_kind``; ``local_cluster_outposts`` the Outpost ARNs of a local
    cluster (None for a cluster in the Region)."""
    label = f"node_groups[{group['name']}]"
    if any(s["site_kind"] not in KIND_ORDER for s in subnets):
        return (f"{label}.subnets has subnets in zones that are neither Availability Zones nor Local Zones; a node "
                "group runs in the Region, a Local Zone or an Outpost.")
    kinds = sorted({s["site_kind"] for s in subnets}, key=KIND_ORDER.index)
    if len(kinds) > 1:
        return (f"{label}.subnets mixes {' and '.join(KIND_WORDS[k] for k in kinds)} subnets; give each site kind "
                "its own node group, so that each gets the kind of nodes its location supports.")
    site_kind = kinds[0]
    if kind == MANAGED and site_kind == OUTPOST:
        return (f"{label} asks for a managed node group on Outpost subnets ({describe_ids(subnets)}), but EKS has no "
                "managed node groups on AWS Outposts; set kind self_managed (or leave kind auto).")
    if local_cluster_outposts is not None:
        outside = [s for s in subnets if s.get("outpost_arn") not in local_cluster_outposts]
        if outside:
            return (f"{label}.subnets must be on the Outpost of the local cluster ({', '.join(local_cluster_outposts)}), "
                    f"but {describe_places(outside)}; the nodes of a local cluster run on its Outpost.")
    if kind == SELF_MANAGED:
        if site_kind == LOCAL_ZONE and group["volume_type"] != LOCAL_ZONE_VOLUME_TYPE:
            return (f"{label}.volume_type {group['volume_type']} is not available in Local Zone "
                    f"{', '.join(sorted({s['zone'] for s in subnets}))}; EBS volumes in Local Zones are gp2, so use "
                    "volume_type gp2.")
        if not group.get("image_id"):
            return (f"{label}.image_id is required for a self-managed node group; give the EKS optimized AMI for the "
                    "cluster's version (SSM parameter /aws/service/eks/optimized-ami/<version>/amazon-linux-2/"
                    "recommended/image_id).")
    else:
        if group.get("spread_placement"):
            return (f"{label}.spread_placement applies to self-managed node groups only; EKS places the nodes of a "
                    "managed node group itself.")
        if not group.get("node_role_arn"):
            return f"{label}.node_role_arn is required for a managed node group; give the IAM role its nodes use."
    return None


def describe_ids(subnets):
    return ", ".join(s["subnet_id"] for s in subnets)


def instance_type_problem(group, site_kind, offered_by_location):
    """A sentence when the group's instance type is not offered where its subnets are, or None.

    ``offered_by_location`` maps each of the group's Local Zones or Outposts (zone name or Outpost ARN) to the
    instance types offered there; other kinds are not checked.
    """
    if site_kind not in (LOCAL_ZONE, OUTPOST):
        return None
    instance_type = group["instance_type"]
    for location, offered in sorted(offered_by_location.items()):
        if instance_type not in offered:
            where = f"Local Zone {location}" if site_kind == LOCAL_ZONE else f"Outpost {location}"
            return (f"node_groups[{group['name']}].instance_type {instance_type} is not offered in {where}; "
                    f"offered there: {', '.join(offered) or 'none'}.")
    return None


def self_managed_labels(group):
    """The node labels of a self-managed group: the group's own, plus ``eks-ha.resilience/node-group``."""
    return dict(group.get("labels") or {}, **{NODE_GROUP_LABEL: group["name"]})


def resource_name(cluster_name, group_name):
    """The name of a self-managed group's launch template and Auto Scaling group."""
    return f"{cluster_name}-{group_name}"


def node_security_group_name(cluster_name, requested=None):
    return requested or f"{cluster_name}-nodes"


def summarize_site(groups, cluster_subnets):
    """The site's kind, zones and Outposts: from the node groups' subnets, or the cluster's without node groups.

    ``groups`` are plans with their resolved ``subnets``.
    """
    subnets = [s for g in groups for s in g["subnets"]] or cluster_subnets
    return {
        "site_kind": site_kind_of(subnets),
        "zones": sorted({s["zone"] for s in subnets}),
        "outpost_arns": sorted({s["outpost_arn"] for s in subnets if s.get("outpost_arn")}),
    }
