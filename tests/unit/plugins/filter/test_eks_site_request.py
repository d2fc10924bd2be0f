"""eks_site_request: the eks_site options of one cluster from the sites sharing it."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.eks_ha.resilience.plugins.filter.eks_site_request import FilterModule, eks_site_request

ROLE = "arn:aws:iam::123456789012:role/eks-ha-nodes"
IMAGE = "ami-0123456789abcdef0"


def share(kind, subnets, *groups, **defaults):
    return dict({"kind": kind, "subnets": list(subnets), "node_groups": list(groups)}, **defaults)


LOCAL_ZONE = share("local_zone", ["lz-bos"], {"name": "lz-workers", "instance_type": "t3.xlarge", "desired_size": 2},
                   node_role_arn=ROLE, image_id=IMAGE, instance_profile=None)
REGION = share("region", ["region-a", "region-b"], {"name": "region-workers", "instance_type": "m5.large"},
               node_role_arn=ROLE, image_id=IMAGE, instance_profile=None)


def test_the_filter_is_exported():
    assert FilterModule().filters()["eks_site_request"] is eks_site_request


def test_a_shared_cluster_takes_the_region_sites_subnets_and_every_sites_groups():
    request = eks_site_request([LOCAL_ZONE, REGION], {"name": "shop", "version": 1.31})
    assert request["cluster"] == {"version": "1.31", "subnets": ["region-a", "region-b"]}
    assert request["node_groups"] == [
        {"name": "lz-workers", "instance_type": "t3.xlarge", "desired_size": 2, "subnets": ["lz-bos"],
         "node_role_arn": ROLE, "image_id": IMAGE},
        {"name": "region-workers", "instance_type": "m5.large", "subnets": ["region-a", "region-b"],
         "node_role_arn": ROLE, "image_id": IMAGE},
    ]


def test_without_a_region_site_the_control_plane_takes_every_sites_subnets():
    outpost = share("outpost", ["op-1"])
    request = eks_site_request([outpost, share("outpost", ["op-2", "op-1"])], {"name": "plant"})
    assert request == {"cluster": {"subnets": ["op-1", "op-2"]}, "node_groups": []}


def test_the_clusters_own_subnets_and_settings_win_and_unknown_keys_stay_out():
    cluster = {"name": "shop", "version": "1.31", "role_arn": "arn:aws:iam::123456789012:role/eks", "subnets": ["x"],
               "endpoint_private_access": True, "endpoint_public_access": False, "color": "blue",
               "outpost": {"outpost_arns": ["arn:op"], "control_plane_instance_type": "m5.large"}, "tags": None}
    assert eks_site_request([LOCAL_ZONE, REGION], cluster)["cluster"] == {
        "version": "1.31", "role_arn": "arn:aws:iam::123456789012:role/eks", "subnets": ["x"],
        "endpoint_private_access": True, "endpoint_public_access": False,
        "outpost": {"outpost_arns": ["arn:op"], "control_plane_instance_type": "m5.large"}}


def test_a_group_keeps_what_it_gives_and_takes_only_the_defaults_it_lacks():
    group = {"name": "boston", "instance_type": "t3.xlarge", "subnets": ["lz-bos"], "kind": "self_managed",
             "image_id": "ami-own", "labels": {"site": "boston"}, "taints": [{"key": "lz", "effect": "NoSchedule"}],
             "min_size": 1, "max_size": 4, "volume_type": "gp2", "volume_size": 40, "spread_placement": True,
             "notes": "ignored"}
    site = share("local_zone", ["lz-bos", "lz-other"], group, image_id=IMAGE, instance_profile="nodes")
    [entry] = eks_site_request([site], {"name": "shop"})["node_groups"]
    assert entry == {k: v for k, v in group.items() if k != "notes"} | {"instance_profile": "nodes"}


def test_a_group_every_site_defines_appears_once_in_the_first_sites_subnets():
    control = {"name": "control", "instance_type": "m5.large"}
    request = eks_site_request([share("region", ["a"], control), share("region", ["b"], control)], {"name": "shop"})
    assert request["node_groups"] == [{"name": "control", "instance_type": "m5.large", "subnets": ["a"]}]


def test_two_sites_defining_one_group_differently_are_refused():
    with pytest.raises(AnsibleFilterError, match="Node group workers of cluster shop is defined differently"):
        eks_site_request([share("region", ["a"], {"name": "workers", "instance_type": "m5.large"}),
                          share("region", ["b"], {"name": "workers", "instance_type": "m5.xlarge"})], {"name": "shop"})


@pytest.mark.parametrize("shares, message", [
    ("not a list", "expects a list of sites"),
    ([share("region", ["a"], {"instance_type": "m5.large"})], "A node group of cluster shop has no name"),
])
def test_bad_input_is_refused_with_a_sentence(shares, message):
    with pytest.raises(AnsibleFilterError, match=message):
        eks_site_request(shares, {"name": "shop"})
