"""eks_site decisions: the site kind of subnets, node group kinds, and the sentences refusing bad input."""

import pytest

from ansible_collections.eks_ha.resilience.plugins.module_utils import ec2
from ansible_collections.eks_ha.resilience.plugins.module_utils import site

OUTPOST_ARN = "arn:aws:outposts:us-east-1:123456789012:outpost/op-0000000000000001a"
ZONE_TYPES = {"us-east-1a": "availability-zone", "us-east-1-bos-1a": "local-zone",
              "us-east-1-wl1-bos-wlz-1": "wavelength-zone"}


def described(subnet_id, zone, outpost_arn=None, vpc="vpc-1", cidr="10.0.1.0/24", name=None):
    """A subnet as DescribeSubnets returns it."""
    subnet = {"SubnetId": subnet_id, "AvailabilityZone": zone, "VpcId": vpc, "CidrBlock": cidr,
              "Tags": [{"Key": "Name", "Value": name or subnet_id}]}
    if outpost_arn:
        subnet["OutpostArn"] = outpost_arn
    return subnet


def subnet(subnet_id, zone, outpost_arn=None, **extra):
    return ec2.describe_subnet(described(subnet_id, zone, outpost_arn, **extra), ZONE_TYPES)


REGION_A = subnet("subnet-a", "us-east-1a")
LOCAL = subnet("subnet-lz", "us-east-1-bos-1a")
OUTPOST = subnet("subnet-op", "us-east-1a", OUTPOST_ARN)


def group(**options):
    return dict({"name": "workers", "subnets": ["x"], "instance_type": "t3.xlarge", "desired_size": 2,
                 "min_size": None, "max_size": None, "volume_type": "gp2", "volume_size": 20, "image_id": "ami-1",
                 "node_role_arn": "arn:aws:iam::123456789012:role/nodes", "spread_placement": False,
                 "labels": {}, "taints": []}, **options)


# -- site kind --------------------------------------------------------------------------------------


@pytest.mark.parametrize("subnet_, kind", [
    (described("s", "us-east-1a"), "region"),
    (described("s", "us-east-1-bos-1a"), "local_zone"),
    # An Outpost subnet's zone is its anchor Availability Zone: the OutpostArn decides.
    (described("s", "us-east-1a", OUTPOST_ARN), "outpost"),
    (described("s", "us-east-1-wl1-bos-wlz-1"), None),
])
def test_site_kind_comes_from_the_outpost_arn_and_the_zone_type(subnet_, kind):
    assert ec2.subnet_site_kind(subnet_, ZONE_TYPES) == kind


def test_describe_subnet_keeps_what_a_site_needs():
    assert OUTPOST == {"subnet_id": "subnet-op", "name": "subnet-op", "vpc_id": "vpc-1", "cidr": "10.0.1.0/24",
                       "zone": "us-east-1a", "outpost_arn": OUTPOST_ARN, "site_kind": "outpost"}


@pytest.mark.parametrize("subnets, kind", [
    ([REGION_A], "region"), ([REGION_A, LOCAL], "local_zone"), ([LOCAL, OUTPOST, REGION_A], "outpost"), ([], None)])
def test_the_site_kind_is_the_most_specific_kind_of_its_subnets(subnets, kind):
    assert site.site_kind_of(subnets) == kind


@pytest.mark.parametrize("requested, site_kind, kind", [
    ("auto", "region", "managed"), ("auto", "local_zone", "self_managed"), ("auto", "outpost", "self_managed"),
    ("managed", "local_zone", "managed"), ("self_managed", "region", "self_managed")])
def test_auto_picks_managed_in_the_region_and_self_managed_elsewhere(requested, site_kind, kind):
    assert site.group_kind(requested, site_kind) == kind


def test_summary_of_a_site_without_node_groups_comes_from_the_cluster_subnets():
    assert site.summarize_site([], [OUTPOST]) == {"site_kind": "outpost", "zones": ["us-east-1a"],
                                                  "outpost_arns": [OUTPOST_ARN]}
    plans = [{"subnets": [LOCAL]}, {"subnets": [REGION_A]}]
    assert site.summarize_site(plans, [REGION_A]) == {"site_kind": "local_zone",
                                                      "zones": ["us-east-1-bos-1a", "us-east-1a"], "outpost_arns": []}


# -- validation sentences ---------------------------------------------------------------------------


@pytest.mark.parametrize("groups, expected", [
    ([group(), group()], "node_groups name workers more than once"),
    ([group(min_size=3)], "node_groups[workers] sizes must satisfy 0 <= min_size <= desired_size <= max_size, got "
                          "min_size 3, desired_size 2, max_size 2."),
    ([group(subnets=[])], "node_groups[workers].subnets is empty"),
    ([group(volume_size=0)], "node_groups[workers].volume_size must be at least 1 GiB, got 0."),
])
def test_options_are_checked_before_aws_is_asked(groups, expected):
    assert expected in site.validate_options("shop", None, groups)


def test_good_options_pass():
    assert site.validate_options("shop", {"outpost": None}, [group(), group(name="other")]) is None
    assert site.sizes(group()) == (2, 2, 2)
    assert site.sizes(group(desired_size=0)) == (0, 1, 0)


def test_a_local_cluster_needs_an_outpost_arn():
    assert site.validate_options("shop", {"outpost": {"outpost_arns": []}}, []).startswith(
        "cluster.outpost.outpost_arns is empty")


def test_unknown_and_ambiguous_subnet_references():
    found = {"subnet-a": [REGION_A], "nope": [], "twice": [REGION_A, LOCAL]}
    assert site.subnet_problem("node_groups[w].subnets", ["subnet-a", "nope"], found, "us-east-1") == (
        "node_groups[w].subnets names nope, which is no subnet in us-east-1; give subnet ids (subnet-...) or Name "
        "tags of existing subnets.")
    assert "twice, which is the Name tag of several subnets" in site.subnet_problem("x", ["twice"], found, "us-east-1")
    assert site.subnet_problem("x", ["subnet-a"], found, "us-east-1") is None


def test_subnets_of_another_vpc_are_refused():
    other = subnet("subnet-b", "us-east-1a", vpc="vpc-2")
    assert site.vpc_problem("node_groups[w].subnets", [REGION_A, other], "vpc-1") == (
        "node_groups[w].subnets has subnets outside the cluster's VPC vpc-1: subnet-b (vpc-2); give subnets of vpc-1, "
        "because an EKS cluster and its nodes share one VPC.")
    assert site.vpc_problem("x", [REGION_A], "vpc-1") is None


def test_control_plane_subnets_match_the_placement():
    assert site.cluster_subnet_problem([REGION_A], local_cluster=False) is None
    assert "subnet-lz is in Local Zone us-east-1-bos-1a" in site.cluster_subnet_problem([REGION_A, LOCAL], False)
    assert site.cluster_subnet_problem([OUTPOST], local_cluster=True) is None
    assert site.cluster_subnet_problem([REGION_A], local_cluster=True).startswith(
        "cluster.subnets of a local cluster (cluster.outpost) must be Outpost subnets")


@pytest.mark.parametrize("options, subnets, kind, expected", [
    ({}, [OUTPOST], "managed", "node_groups[workers] asks for a managed node group on Outpost subnets (subnet-op), "
                               "but EKS has no managed node groups on AWS Outposts; set kind self_managed"),
    ({"volume_type": "gp3"}, [LOCAL], "self_managed",
     "node_groups[workers].volume_type gp3 is not available in Local Zone us-east-1-bos-1a; EBS volumes in Local Zones "
     "are gp2, so use volume_type gp2."),
    ({}, [LOCAL, REGION_A], "self_managed", "node_groups[workers].subnets mixes Region Availability Zone and Local "
                                            "Zone subnets"),
    ({"image_id": None}, [LOCAL], "self_managed", "node_groups[workers].image_id is required"),
    ({"node_role_arn": None}, [REGION_A], "managed", "node_groups[workers].node_role_arn is required"),
    ({"spread_placement": True}, [REGION_A], "managed", "spread_placement applies to self-managed node groups only"),
    ({}, [subnet("subnet-w", "us-east-1-wl1-bos-wlz-1")], "self_managed", "neither Availability Zones nor Local Zones"),
])
def test_group_rules(options, subnets, kind, expected):
    assert expected in site.group_problem(group(**options), subnets, kind)


def test_gp3_is_fine_outside_local_zones_and_good_groups_pass():
    assert site.group_problem(group(volume_type="gp3"), [OUTPOST], "self_managed") is None
    assert site.group_problem(group(), [REGION_A], "managed") is None


def test_nodes_of_a_local_cluster_stay_on_its_outpost():
    other = subnet("subnet-op2", "us-east-1b", "arn:aws:outposts:us-east-1:123456789012:outpost/op-2")
    assert site.group_problem(group(), [OUTPOST], "self_managed", [OUTPOST_ARN]) is None
    assert site.group_problem(group(), [other], "self_managed", [OUTPOST_ARN]).startswith(
        f"node_groups[workers].subnets must be on the Outpost of the local cluster ({OUTPOST_ARN})")


def test_instance_types_must_be_offered_in_the_local_zone_or_on_the_outpost():
    assert site.instance_type_problem(group(instance_type="m5.large"), "local_zone",
                                      {"us-east-1-bos-1a": ["t3.medium", "t3.xlarge"]}) == (
        "node_groups[workers].instance_type m5.large is not offered in Local Zone us-east-1-bos-1a; offered there: "
        "t3.medium, t3.xlarge.")
    assert f"is not offered in Outpost {OUTPOST_ARN}" in site.instance_type_problem(
        group(), "outpost", {OUTPOST_ARN: ["m5.xlarge"]})
    assert site.instance_type_problem(group(), "local_zone", {"us-east-1-bos-1a": ["t3.xlarge"]}) is None
    assert site.instance_type_problem(group(instance_type="x1.32xlarge"), "region", {}) is None


def test_self_managed_nodes_are_labelled_with_their_group():
    assert site.self_managed_labels(group(labels={"role": "edge"})) == {
        "role": "edge", "eks-ha.resilience/node-group": "workers"}
    assert site.resource_name("shop", "workers") == "shop-workers"
    assert site.node_security_group_name("shop") == "shop-nodes"
    assert site.node_security_group_name("shop", "mine") == "mine"
