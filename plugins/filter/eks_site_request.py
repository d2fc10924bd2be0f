# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
name: eks_site_request
version_added: 0.1.0
short_description: The eks_site options of one EKS cluster, from the sites that share it
description:
  - Builds the O(cluster) and O(node_groups) options of M(eks_ha.resilience.eks_site) for one cluster from the sites
    sharing it (one entry of the input per site, in inventory order).
  - The control plane's subnets are C(cluster.subnets) when given, else the subnets of the sites of kind C(region)
    (EKS puts no control plane in a Local Zone), else the subnets of all the sites.
  - The node groups are those of all sites, once per name (a group defined for every site in C(group_vars/all)
    appears once). A group's C(subnets) default to its site's subnets; its C(node_role_arn), C(image_id) and
    C(instance_profile) to its site's defaults. Two sites defining one group name differently is an error.
positional: cluster
options:
  _input:
    description:
      - The sites sharing the cluster, each a dict with C(kind) (region, local_zone or outpost), C(subnets) (the Name
        tags of its subnets), C(node_groups) (its node group definitions) and optional C(node_role_arn),
        C(image_id) and C(instance_profile) (its node groups' defaults).
    type: list
    elements: dict
    required: true
  cluster:
    description:
      - The cluster's inventory definition (name, version, role_arn, subnets, endpoint access, outpost, ...).
    type: dict
    required: true
author:
  - eks_ha.resilience maintainers (@eks-ha)
"""

EXAMPLES = r"""
- name: The request of this site's cluster, from every site that shares it
  ansible.builtin.set_fact:
    request: "{{ shares | eks_ha.resilience.eks_site_request(site_cluster) }}"
  vars:
    shares:
      - {kind: local_zone, subnets: [shop-bos], node_groups: [{name: boston, instance_type: t3.xlarge}],
         image_id: ami-0123456789abcdef0}
      - {kind: region, subnets: [shop-a, shop-b], node_groups: [{name: control, instance_type: m5.large}],
         node_role_arn: "arn:aws:iam::123456789012:role/nodes"}
# request.cluster.subnets == [shop-a, shop-b]; boston runs in shop-bos with its site's image_id.
"""

RETURN = r"""
_value:
  description: The options of eks_site.
  type: dict
  contains:
    cluster:
      description: The O(cluster) option (version as a string, subnets, and the other keys given).
      type: dict
    node_groups:
      description: The O(node_groups) option, in the order the sites define them.
      type: list
      elements: dict
"""

from ansible.errors import AnsibleFilterError

# What the inventory's site_cluster may say that eks_site's cluster option takes as it is.
CLUSTER_KEYS = ("version", "role_arn", "security_group_ids", "endpoint_public_access", "endpoint_private_access",
                "outpost", "tags")
# What a node group definition may say that eks_site's node_groups entries take as they are.
GROUP_KEYS = ("name", "subnets", "kind", "instance_type", "desired_size", "min_size", "max_size", "labels", "taints",
              "node_role_arn", "image_id", "instance_profile", "volume_type", "volume_size", "spread_placement")
# Per-site defaults of the node groups.
GROUP_DEFAULTS = ("node_role_arn", "image_id", "instance_profile")
REGION = "region"


def given(mapping, keys):
    """The entries of ``mapping`` among ``keys`` that have a value."""
    return {key: mapping[key] for key in keys if mapping.get(key) is not None}


def unique(values):
    return list(dict.fromkeys(values))


def control_plane_subnets(shares, cluster):
    """cluster.subnets, else the Region sites' subnets, else every site's."""
    if cluster.get("subnets"):
        # Names, or {name, cidr, availability_zone} of Region subnets only the control plane uses.
        return [s["name"] if isinstance(s, dict) else s for s in cluster["subnets"]]
    region = [s for share in shares if share.get("kind") == REGION for s in share.get("subnets") or []]
    return unique(region or [s for share in shares for s in share.get("subnets") or []])


def eks_site_request(shares, cluster):
    """The eks_site options (cluster, node_groups) of the cluster that the sites ``shares`` share."""
    if not isinstance(shares, list) or not all(isinstance(share, dict) for share in shares):
        raise AnsibleFilterError("eks_site_request expects a list of sites (dicts), one per site sharing the cluster.")
    cluster = dict(cluster or {})
    options = given(cluster, CLUSTER_KEYS)
    if "version" in options:
        options["version"] = str(options["version"])
    options["subnets"] = control_plane_subnets(shares, cluster)

    groups, definitions = [], {}
    for share in shares:
        for group in share.get("node_groups") or []:
            if not isinstance(group, dict) or not group.get("name"):
                raise AnsibleFilterError(f"A node group of cluster {cluster.get('name')} has no name: {group!r}.")
            name = group["name"]
            if name in definitions:
                if definitions[name] != group:
                    raise AnsibleFilterError(
                        f"Node group {name} of cluster {cluster.get('name')} is defined differently by two sites; "
                        "give each definition its own name, or define it once.")
                continue
            definitions[name] = group
            entry = given(group, GROUP_KEYS)
            entry.setdefault("subnets", list(share.get("subnets") or []))
            for key in GROUP_DEFAULTS:
                if key not in entry and share.get(key):
                    entry[key] = share[key]
            groups.append(entry)
    return {"cluster": options, "node_groups": groups}


class FilterModule(object):
    def filters(self):
        return {"eks_site_request": eks_site_request}
