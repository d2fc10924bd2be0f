#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: eks_site
version_added: 0.1.0
short_description: Ensure one site of an EKS deployment, its cluster and its node groups by site kind
description:
  - Ensures the EKS cluster O(name) and its node groups, and returns what the rest of a playbook needs about the
    site (cluster endpoint and CA, node groups, zones, site kind, security groups).
  - An existing cluster is adopted as it is. Its settings are never changed; where they differ from O(cluster) the
    module warns, and it fails when the cluster's placement differs (a local cluster on AWS Outposts asked for in
    the Region, or the other way round). A missing cluster is created from O(cluster) and waited for until ACTIVE.
  - The kind of site of every subnet is read from EC2, not taken from the input. A subnet with an C(OutpostArn)
    is on an Outpost; a subnet whose zone has the type C(local-zone) is in a Local Zone; others are in the Region.
  - Node groups in Region subnets are EKS managed node groups by default. Node groups in a Local Zone or on an
    Outpost are self-managed, made of an EC2 launch template (gp2 root volume, user data running the EKS AMI's
    C(/etc/eks/bootstrap.sh) with the cluster's name, endpoint and CA, and the group's labels and taints as
    kubelet arguments) and an Auto Scaling group in the group's subnets.
  - The instance type of a Local Zone group must be offered in the zone (C(DescribeInstanceTypeOfferings)), the
    one of an Outpost group by the Outpost (C(GetOutpostInstanceTypes)). A managed node group on an Outpost is
    refused, because EKS has none there. Every check runs before anything is changed.
  - With O(node_security_group) the self-managed nodes share a security group whose ingress rules name the CIDRs of
    every node subnet (all traffic, and DNS over TCP and UDP 53), because security group references do not cross
    the customer network between Outposts.
  - Only what differs is changed. Of an existing managed node group the sizes, labels and taints are updated; of a
    self-managed group a new launch template version is made when its data differs, and the Auto Scaling group's
    sizes, subnets and launch template are updated. A difference that cannot change in place (a managed node
    group's instance type or subnets) is reported as a warning.
options:
  name:
    description:
      - The name of the EKS cluster.
    type: str
    required: true
  cluster:
    description:
      - How to create the cluster when it does not exist. For an existing cluster, what it is compared with.
    type: dict
    suboptions:
      version:
        description: The Kubernetes version, for example C(1.31). EKS picks its default when omitted.
        type: str
      role_arn:
        description: The IAM role of the cluster. Required to create it.
        type: str
      subnets:
        description:
          - Subnet ids or C(Name) tags of the control plane's subnets. Required to create the cluster.
          - Region subnets for a cluster in the Region (also when its nodes run on an Outpost, an extended cluster);
            Outpost subnets for a local cluster (O(cluster.outpost)).
        type: list
        elements: str
      security_group_ids:
        description: Additional security groups of the control plane.
        type: list
        elements: str
      endpoint_public_access:
        description:
          - Whether the API endpoint is reachable from the internet. A new cluster gets V(true) when omitted.
        type: bool
      endpoint_private_access:
        description:
          - Whether the API endpoint is reachable from inside the VPC. A new cluster gets V(false) when omitted.
        type: bool
      outpost:
        description:
          - Makes a local cluster, whose control plane runs on an Outpost (C(outpostConfig)).
        type: dict
        suboptions:
          outpost_arns:
            description: The ARN of the Outpost.
            type: list
            elements: str
            required: true
          control_plane_instance_type:
            description: The instance type of the control plane instances.
            type: str
            required: true
      tags:
        description: Tags of a new cluster.
        type: dict
  node_groups:
    description:
      - The node groups of the site. Node groups the cluster has but this list does not name are left alone.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The node group's name.
        type: str
        required: true
      subnets:
        description: Subnet ids or C(Name) tags, all of one site kind and in the cluster's VPC.
        type: list
        elements: str
        required: true
      kind:
        description:
          - V(managed) for an EKS managed node group, V(self_managed) for a launch template and an Auto Scaling group.
          - V(auto) is V(managed) in Region subnets and V(self_managed) in Local Zones and on Outposts.
        type: str
        choices: [auto, managed, self_managed]
        default: auto
      instance_type:
        description: The instance type of the nodes.
        type: str
        required: true
      desired_size:
        description: How many nodes the group runs.
        type: int
        default: 2
      min_size:
        description: The smallest size of the group. Defaults to O(node_groups[].desired_size).
        type: int
      max_size:
        description: The largest size of the group. Defaults to O(node_groups[].desired_size) (at least 1).
        type: int
      labels:
        description:
          - Kubernetes labels of the nodes. Self-managed nodes also get C(eks-ha.resilience/node-group) with the
            group's name, as managed nodes get C(eks.amazonaws.com/nodegroup).
        type: dict
        default: {}
      taints:
        description: Kubernetes taints of the nodes, for example C(CriticalAddonsOnly) on a C(control) group.
        type: list
        elements: dict
        default: []
        suboptions:
          key:
            description: The taint's key.
            type: str
            required: true
          value:
            description: The taint's value.
            type: str
            default: ""
          effect:
            description: The taint's effect.
            type: str
            choices: [NoSchedule, NoExecute, PreferNoSchedule]
            default: NoSchedule
      node_role_arn:
        description: The IAM role of the nodes of a managed node group. Required for managed node groups.
        type: str
      image_id:
        description:
          - The AMI of a self-managed node group, an EKS optimized Amazon Linux 2 AMI of the cluster's version (its
            user data runs C(/etc/eks/bootstrap.sh)). Required for self-managed node groups.
        type: str
      instance_profile:
        description: The IAM instance profile (name or ARN) of self-managed nodes.
        type: str
      volume_type:
        description: The EBS type of a self-managed node's root volume. Local Zones take gp2 only.
        type: str
        choices: [gp2, gp3, io1, io2]
        default: gp2
      volume_size:
        description: The size in GiB of a self-managed node's root volume.
        type: int
        default: 20
      spread_placement:
        description:
          - Put the nodes of a self-managed group in a spread placement group (named after the Auto Scaling group),
            on an Outpost spread over racks.
        type: bool
        default: false
  node_security_group:
    description:
      - When given (even as an empty dict), self-managed nodes share a security group in the cluster's VPC with
        ingress rules between the CIDRs of all node subnets (all traffic, and DNS over TCP and UDP 53).
      - Managed node groups keep the cluster security group EKS gives them.
    type: dict
    suboptions:
      name:
        description: The security group's name. Defaults to the cluster name followed by C(-nodes).
        type: str
  wait:
    description:
      - Wait until a new cluster and new or changed managed node groups are ACTIVE. A new cluster is always waited
        for, because its node groups need it ACTIVE.
    type: bool
    default: true
  wait_timeout:
    description: How many seconds to wait for each cluster or node group.
    type: int
    default: 1800
notes:
  - Supports check mode and diff mode. Check mode reads, validates and plans (see RV(actions)) without any write.
  - The module never deletes a cluster, a node group or a security group rule.
  - The node IAM role or instance profile must also be allowed into the cluster (an access entry or C(aws-auth));
    this module does not grant it.
author:
  - eks_ha.resilience maintainers (@eks-ha)
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: One cluster with a managed control group in the Region and a self-managed group in the Boston Local Zone
  eks_ha.resilience.eks_site:
    name: shop
    region: us-east-1
    cluster:
      version: "1.31"
      role_arn: "{{ cluster_role_arn }}"
      subnets: [shop-use1a, shop-use1b]
    node_groups:
      - name: control
        subnets: [shop-use1a, shop-use1b]
        instance_type: m5.large
        desired_size: 2
        node_role_arn: "{{ node_role_arn }}"
        labels: {role: control}
        taints: [{key: CriticalAddonsOnly, value: "true", effect: NoSchedule}]
      - name: boston
        subnets: [shop-bos-1a]
        instance_type: t3.xlarge
        image_id: "{{ eks_ami }}"
        instance_profile: shop-nodes
  register: site

- name: One cluster across two Outposts, control plane in the Region, nodes allowed to talk by CIDR
  eks_ha.resilience.eks_site:
    name: factory
    region: us-west-2
    cluster:
      role_arn: "{{ cluster_role_arn }}"
      subnets: [factory-usw2a, factory-usw2b]
    node_groups:
      - name: outpost-1
        subnets: [factory-op1]
        instance_type: m5.xlarge
        image_id: "{{ eks_ami }}"
        spread_placement: true
      - name: outpost-2
        subnets: [factory-op2]
        instance_type: m5.xlarge
        image_id: "{{ eks_ami }}"
    node_security_group: {}

- name: A local cluster on an Outpost
  eks_ha.resilience.eks_site:
    name: plant
    region: us-west-2
    cluster:
      role_arn: "{{ cluster_role_arn }}"
      subnets: [plant-op1]
      outpost:
        outpost_arns: ["{{ outpost_arn }}"]
        control_plane_instance_type: m5.large
"""

RETURN = r"""
cluster:
  description: The cluster (in check mode before creation, what it would be, with C(status) V(CREATING)).
  returned: success
  type: dict
  contains:
    name: {description: The cluster name., type: str}
    arn: {description: The cluster ARN., type: str}
    status: {description: The cluster status., type: str, sample: ACTIVE}
    version: {description: The Kubernetes version., type: str, sample: "1.31"}
    endpoint: {description: The API server endpoint., type: str}
    certificate_authority_data: {description: The base64 PEM of the cluster CA., type: str}
    vpc_id: {description: The cluster's VPC., type: str}
    subnet_ids: {description: The control plane's subnets., type: list, elements: str}
    cluster_security_group_id: {description: The security group EKS made for the cluster., type: str}
    outpost:
      description: The C(outpostConfig) of a local cluster on an Outpost (null for a cluster in the Region).
      type: dict
    adopted: {description: Whether the cluster existed before this run., type: bool}
site_kind:
  description: The site's kind, from its node groups' subnets (or the cluster's without node groups); an Outpost
    subnet makes it V(outpost), else a Local Zone subnet V(local_zone), else V(region).
  returned: success
  type: str
  sample: local_zone
zones:
  description: The zones of the site's node subnets (Availability Zones, Local Zones, Outposts' anchor zones).
  returned: success
  type: list
  elements: str
  sample: [us-east-1-bos-1a]
outpost_arns:
  description: The Outposts of the site's node subnets.
  returned: success
  type: list
  elements: str
node_groups:
  description: The node groups, in the order of O(node_groups).
  returned: success
  type: list
  elements: dict
  contains:
    name: {description: The node group name., type: str}
    kind: {description: V(managed) or V(self_managed)., type: str}
    site_kind:
      description: V(region), V(local_zone) or V(outpost).
      type: str
    zones: {description: The zones of its subnets., type: list, elements: str}
    subnet_ids: {description: Its subnets., type: list, elements: str}
    instance_type: {description: The instance type., type: str}
    min_size: {description: Smallest size., type: int}
    max_size: {description: Largest size., type: int}
    desired_size: {description: Desired size., type: int}
    labels: {description: Node labels., type: dict}
    taints: {description: Node taints (Kubernetes form)., type: list, elements: dict}
    auto_scaling_group_name: {description: The Auto Scaling group of a self-managed group., type: str}
    launch_template_name: {description: The launch template of a self-managed group., type: str}
    placement_group:
      description: The spread placement group (with O(node_groups[].spread_placement)).
      type: str
security_group_ids:
  description: The cluster security group, the control plane's additional groups and the shared node group, if any.
  returned: success
  type: list
  elements: str
node_security_group_id:
  description: The shared node security group (null without O(node_security_group), or in check mode before creation).
  returned: success
  type: str
actions:
  description: What was (or would be) done, one sentence each.
  returned: success
  type: list
  elements: str
diff:
  description: The cluster, node groups and node security group rules before and after, with C(--diff).
  returned: when diff mode is enabled
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.eks_ha.resilience.plugins.module_utils import autoscaling
from ansible_collections.eks_ha.resilience.plugins.module_utils import ec2
from ansible_collections.eks_ha.resilience.plugins.module_utils import eks
from ansible_collections.eks_ha.resilience.plugins.module_utils import outposts
from ansible_collections.eks_ha.resilience.plugins.module_utils import site


def fail_sentence(module, problem):
    if problem:
        module.fail_json(msg=problem)


def resolve_subnets(client, refs):
    """ref -> described subnets (ids through the subnet-id filter, others through the Name tag)."""
    ids = sorted({r for r in refs if r.startswith("subnet-")})
    names = sorted({r for r in refs if not r.startswith("subnet-")})
    found = []
    if ids:
        found += ec2.describe_subnets(client, [{"Name": "subnet-id", "Values": ids}])
    if names:
        found += ec2.describe_subnets(client, [{"Name": "tag:Name", "Values": names}])
    found = list({s["SubnetId"]: s for s in found}.values())  # a subnet named both by id and by Name tag
    zone_types = {}
    zones = sorted({s["AvailabilityZone"] for s in found})
    if zones:
        zone_types = {z["ZoneName"]: z.get("ZoneType", "availability-zone") for z in ec2.describe_zones(client, zones)}
    described = [ec2.describe_subnet(s, zone_types) for s in found]
    resolved = {}
    for ref in refs:
        if ref.startswith("subnet-"):
            resolved[ref] = [s for s in described if s["subnet_id"] == ref]
        else:
            resolved[ref] = [s for s in described if s["name"] == ref]
    return resolved


def group_view(plan):
    group = plan["group"]
    view = {"kind": plan["kind"], "site_kind": plan["site_kind"], "instance_type": group["instance_type"],
            "subnet_ids": sorted(s["subnet_id"] for s in plan["subnets"]),
            "min_size": plan["sizes"][0], "max_size": plan["sizes"][1], "desired_size": plan["sizes"][2],
            "labels": plan["labels"], "taints": plan["taints"]}
    return view


def nodegroup_view(nodegroup):
    scaling = nodegroup.get("scalingConfig") or {}
    return {"kind": site.MANAGED, "instance_type": (nodegroup.get("instanceTypes") or [None])[0],
            "subnet_ids": sorted(nodegroup.get("subnets") or []), "min_size": scaling.get("minSize"),
            "max_size": scaling.get("maxSize"), "desired_size": scaling.get("desiredSize"),
            "labels": nodegroup.get("labels") or {}, "taints": eks.kubernetes_taints(nodegroup.get("taints"))}


def cluster_view(cluster):
    if cluster is None:
        return None
    described = eks.describe_site_cluster(cluster)
    keys = ("name", "version", "role_arn", "subnet_ids", "endpoint_public_access", "endpoint_private_access", "outpost")
    return {k: described[k] for k in keys}


class Run:
    """One module run: the clients, what was read, what was (or would be) done."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.name = module.params["name"]
        self.eks = module.client("eks")
        self.ec2 = module.client("ec2")
        self.actions = []
        self.changed = False
        self.before = {"cluster": None, "node_groups": {}, "node_security_group": None}
        self.after = {"cluster": None, "node_groups": {}, "node_security_group": None}

    def act(self, sentence, call=None):
        self.actions.append(sentence)
        self.changed = True
        if call is not None and not self.module.check_mode:
            return call()
        return None

    def fail(self, problem):
        fail_sentence(self.module, problem)

    # -- reading and checking -------------------------------------------------------------------

    def check(self, existing):
        """Resolve every subnet and check the whole request; fail with one sentence before any write."""
        params = self.params
        options = params["cluster"] or {}
        groups = params["node_groups"]
        cluster_refs = options.get("subnets") or []
        if existing is not None and not cluster_refs:
            cluster_refs = (existing.get("resourcesVpcConfig") or {}).get("subnetIds") or []
        refs = list(cluster_refs) + [r for g in groups for r in g["subnets"]]
        resolved = resolve_subnets(self.ec2, refs) if refs else {}
        region = self.module.region

        if existing is not None and options:
            requested = {"outpostConfig": True} if options.get("outpost") else {}
            self.fail(eks.kind_mismatch(existing, requested, self.name))
        if existing is None and (not options.get("role_arn") or not options.get("subnets")):
            self.fail(f"EKS cluster '{self.name}' does not exist in {region}; give cluster.role_arn and cluster.subnets "
                      "to create it.")
        self.fail(site.subnet_problem("cluster.subnets", cluster_refs, resolved, region))
        cluster_subnets = [resolved[r][0] for r in cluster_refs]
        vpc_id = (existing.get("resourcesVpcConfig") or {}).get("vpcId") if existing else None
        vpc_id = vpc_id or (cluster_subnets[0]["vpc_id"] if cluster_subnets else None)
        self.fail(site.vpc_problem("cluster.subnets", cluster_subnets, vpc_id))
        local_outposts = None
        if options.get("outpost"):
            local_outposts = options["outpost"]["outpost_arns"]
        elif existing is not None and eks.is_outpost_cluster(existing):
            local_outposts = existing["outpostConfig"].get("outpostArns") or []
        if existing is None:
            self.fail(site.cluster_subnet_problem(cluster_subnets, local_outposts is not None))

        plans = []
        for group in groups:
            label = f"node_groups[{group['name']}].subnets"
            self.fail(site.subnet_problem(label, group["subnets"], resolved, region))
            subnets = [resolved[r][0] for r in group["subnets"]]
            self.fail(site.vpc_problem(label, subnets, vpc_id))
            site_kind = site.site_kind_of(subnets)
            kind = site.group_kind(group["kind"], site_kind)
            self.fail(site.group_problem(group, subnets, kind, local_outposts))
            self.fail(site.instance_type_problem(group, site_kind, self.offerings(site_kind, subnets)))
            plans.append(self.plan(group, subnets, site_kind, kind))
        return vpc_id, cluster_subnets, plans

    def offerings(self, site_kind, subnets):
        """Location -> offered instance types, for the Local Zones or Outposts of ``subnets``."""
        if site_kind == ec2.LOCAL_ZONE:
            return {zone: ec2.zone_instance_types(self.ec2, zone) for zone in sorted({s["zone"] for s in subnets})}
        if site_kind == ec2.OUTPOST:
            client = self.module.client("outposts")
            offered = {}
            for arn in sorted({s["outpost_arn"] for s in subnets}):
                types = outposts.outpost_instance_types(client, arn)
                if types is None:
                    self.fail(f"Outpost {arn} of the node group subnets was not found by the Outposts API in "
                              f"{self.module.region}; check that the Outpost is shared with this account.")
                offered[arn] = types
            return offered
        return {}

    @staticmethod
    def plan(group, subnets, site_kind, kind):
        labels = {str(k): str(v) for k, v in (group["labels"] or {}).items()}
        if kind == site.SELF_MANAGED:
            labels = site.self_managed_labels(dict(group, labels=labels))
        return {"group": group, "subnets": subnets, "site_kind": site_kind, "kind": kind, "sizes": site.sizes(group),
                "labels": labels, "taints": [dict(t, value=t.get("value") or "") for t in group["taints"]]}

    # -- the cluster ----------------------------------------------------------------------------

    def cluster(self, existing, cluster_subnets):
        options = self.params["cluster"] or {}
        request = eks.cluster_request(
            self.name, options.get("version"), options.get("role_arn"), [s["subnet_id"] for s in cluster_subnets],
            options.get("endpoint_public_access"), options.get("endpoint_private_access"),
            options.get("security_group_ids"), options.get("outpost"), options.get("tags"))
        if existing is not None:
            self.before["cluster"] = self.after["cluster"] = cluster_view(existing)
            if options:
                # Compare only what the user gave, not the defaults of a new cluster.
                request["resourcesVpcConfig"].update(
                    subnetIds=[s["subnet_id"] for s in cluster_subnets] if options.get("subnets") else [],
                    endpointPublicAccess=options.get("endpoint_public_access"),
                    endpointPrivateAccess=options.get("endpoint_private_access"))
                for setting, has, asked in eks.cluster_differences(existing, request):
                    self.module.warn(f"EKS cluster '{self.name}' has {setting} {has}, not {asked} as asked in cluster; "
                                     "eks_site adopts an existing cluster as it is and changed nothing of it.")
            return existing
        where = "on Outpost " + ", ".join(options["outpost"]["outpost_arns"]) if options.get("outpost") else \
            "in subnets " + ", ".join(request["resourcesVpcConfig"]["subnetIds"])
        self.act(f"Create EKS cluster {self.name} {where} and wait until it is ACTIVE.",
                 lambda: eks.create_cluster(self.eks, request))
        if self.module.check_mode:
            planned = {"name": self.name, "status": "CREATING", "version": request.get("version"),
                       "roleArn": request["roleArn"],
                       "resourcesVpcConfig": dict(request["resourcesVpcConfig"],
                                                  vpcId=cluster_subnets[0]["vpc_id"])}
            if request.get("outpostConfig"):
                planned["outpostConfig"] = request["outpostConfig"]
            self.after["cluster"] = cluster_view(planned)
            return planned
        cluster = eks.wait_cluster_active(self.eks, self.name, self.params["wait_timeout"])
        self.after["cluster"] = cluster_view(cluster)
        return cluster

    # -- the shared node security group ---------------------------------------------------------

    def node_security_group(self, vpc_id, plans):
        option = self.params["node_security_group"]
        if option is None:
            return None
        name = site.node_security_group_name(self.name, option.get("name"))
        cidrs = [s["cidr"] for p in plans for s in p["subnets"]]
        wanted = ec2.node_ingress_rules(cidrs)
        found = ec2.find_security_group(self.ec2, vpc_id, name)
        if found is None:
            group_id = self.act(f"Create security group {name} for the nodes in {vpc_id}.",
                                lambda: ec2.create_security_group(
                                    self.ec2, vpc_id, name, f"Nodes of EKS cluster {self.name}",
                                    {"Name": name, f"kubernetes.io/cluster/{self.name}": "owned"}))
            current = []
        else:
            group_id = found["GroupId"]
            current = found.get("IpPermissions") or []
        missing = ec2.missing_ingress(current, wanted)
        if missing:
            self.act(f"Allow into security group {name}: {', '.join(ec2.rule_sentences(missing))}.",
                     lambda: ec2.authorize_ingress(self.ec2, group_id, missing))
        rules_before = sorted(ec2.rule_sentences(ec2.missing_ingress([], current)))
        self.before["node_security_group"] = None if found is None else {"name": name, "rules": rules_before}
        self.after["node_security_group"] = {"name": name,
                                             "rules": sorted(set(rules_before) | set(ec2.rule_sentences(missing)))}
        return group_id

    # -- node groups ----------------------------------------------------------------------------

    def managed(self, plan, cluster_exists):
        group = plan["group"]
        name = group["name"]
        request = eks.nodegroup_request(self.name, name, group["node_role_arn"],
                                        [s["subnet_id"] for s in plan["subnets"]], group["instance_type"],
                                        plan["sizes"], plan["labels"], plan["taints"])
        current = eks.describe_nodegroup(self.eks, self.name, name) if cluster_exists else None
        self.after["node_groups"][name] = group_view(plan)
        result = {"nodegroup_arn": None}
        if current is None:
            self.act(f"Create managed node group {name} ({plan['sizes'][2]} x {group['instance_type']}) in "
                     f"{', '.join(sorted({s['zone'] for s in plan['subnets']}))}.",
                     lambda: eks.create_nodegroup(self.eks, request))
            if not self.module.check_mode and self.params["wait"]:
                self.wait_nodegroup(name)
            return result
        result["nodegroup_arn"] = current.get("nodegroupArn")
        self.before["node_groups"][name] = nodegroup_view(current)
        for setting, has, asked in eks.nodegroup_immutable_differences(current, request):
            self.module.warn(f"Managed node group {name} has {setting} {has}, not {asked}; a managed node group's "
                             f"{setting} cannot change in place, so make a new node group to change it.")
        before = self.before["node_groups"][name]
        self.after["node_groups"][name] = dict(before, min_size=plan["sizes"][0], max_size=plan["sizes"][1],
                                               desired_size=plan["sizes"][2], labels=plan["labels"],
                                               taints=plan["taints"])
        changes = eks.nodegroup_changes(current, request)
        if changes:
            self.act(f"Update managed node group {name}: {', '.join(sorted(changes))}.",
                     lambda: eks.update_nodegroup_config(self.eks, self.name, name, changes))
            if not self.module.check_mode and self.params["wait"]:
                self.wait_nodegroup(name)
        return result

    def wait_nodegroup(self, name):
        waiter = self.eks.get_waiter("nodegroup_active")
        try:
            waiter.wait(clusterName=self.name, nodegroupName=name,
                        WaiterConfig={"Delay": 10, "MaxAttempts": max(self.params["wait_timeout"] // 10, 1)})
        except Exception as e:  # botocore's WaiterError: say which group did not become ACTIVE
            self.module.fail_json(msg=f"Managed node group {name} did not become ACTIVE within wait_timeout="
                                      f"{self.params['wait_timeout']} seconds: {e}.")

    def self_managed(self, plan, cluster, security_group_ids):
        group = plan["group"]
        name = site.resource_name(self.name, group["name"])
        placement_group = None
        if group["spread_placement"]:
            placement_group = name
            if ec2.describe_placement_group(self.ec2, name) is None:
                level = "rack" if plan["site_kind"] == ec2.OUTPOST else None
                self.act(f"Create spread placement group {name}{' (rack level)' if level else ''}.",
                         lambda: ec2.create_placement_group(self.ec2, name, level, {"Name": name}))
        described = eks.describe_site_cluster(cluster)
        local_id = described["id"] if described["outpost"] else None
        user_data = eks.bootstrap_user_data(self.name, described["endpoint"], described["certificate_authority_data"],
                                            plan["labels"], plan["taints"], local_id)
        tags = {"Name": name, f"kubernetes.io/cluster/{self.name}": "owned", site.NODE_GROUP_LABEL: group["name"]}
        data = ec2.launch_template_data(group["image_id"], group["instance_type"], user_data, security_group_ids,
                                        group["volume_type"], group["volume_size"], group.get("instance_profile"),
                                        placement_group, tags)
        template = ec2.describe_launch_template(self.ec2, name)
        if template is None:
            self.act(f"Create launch template {name} ({group['instance_type']}, {group['volume_type']} root volume, "
                     f"bootstrap of cluster {self.name}).",
                     lambda: ec2.create_launch_template(self.ec2, name, data, {"Name": name}))
        else:
            latest = ec2.launch_template_version(self.ec2, template["LaunchTemplateId"], "$Latest")
            changed = ec2.launch_template_changes(latest.get("LaunchTemplateData"), data)
            if changed:
                self.act(f"Create version {template['LatestVersionNumber'] + 1} of launch template {name} "
                         f"(changed {', '.join(changed)}); new instances use it.",
                         lambda: ec2.create_launch_template_version(self.ec2, template["LaunchTemplateId"], data))
        asg_client = self.module.client("autoscaling")
        minimum, maximum, desired = plan["sizes"]
        settings = autoscaling.group_settings(name, name, [s["subnet_id"] for s in plan["subnets"]], minimum, maximum,
                                              desired, tags, placement_group)
        current = autoscaling.describe_group(asg_client, name)
        self.after["node_groups"][group["name"]] = group_view(plan)
        if current is None:
            self.act(f"Create Auto Scaling group {name} ({desired} x {group['instance_type']}) in "
                     f"{', '.join(sorted({site.place(s) for s in plan['subnets']}))}.",
                     lambda: autoscaling.create_group(asg_client, settings))
        else:
            self.before["node_groups"][group["name"]] = dict(
                group_view(plan), min_size=current["MinSize"], max_size=current["MaxSize"],
                desired_size=current["DesiredCapacity"],
                subnet_ids=sorted(filter(None, (current.get("VPCZoneIdentifier") or "").split(","))))
            if template is not None and changed:
                self.before["node_groups"][group["name"]]["launch_template_changes"] = changed
            changes = autoscaling.group_changes(current, settings)
            if changes:
                self.act(f"Update Auto Scaling group {name}: {', '.join(sorted(changes))}.",
                         lambda: autoscaling.update_group(asg_client, name, changes))
        return {"auto_scaling_group_name": name, "launch_template_name": name, "placement_group": placement_group}

    # -- the whole run --------------------------------------------------------------------------

    def present(self):
        params = self.params
        self.fail(site.validate_options(self.name, params["cluster"], params["node_groups"]))
        if not self.module.region:
            self.fail("region is required: give the Region of the EKS cluster.")
        existing = eks.describe_cluster(self.eks, self.name)
        vpc_id, cluster_subnets, plans = self.check(existing)
        cluster = self.cluster(existing, cluster_subnets)
        cluster_exists = existing is not None
        node_group_id = self.node_security_group(vpc_id, plans)
        described = eks.describe_site_cluster(cluster)
        security_group_ids = [g for g in [described["cluster_security_group_id"]] + described["security_group_ids"]
                              + [node_group_id] if g]
        node_groups = []
        for plan in plans:
            if plan["kind"] == site.MANAGED:
                extra = self.managed(plan, cluster_exists)
            else:
                node_security = [g for g in (described["cluster_security_group_id"], node_group_id) if g]
                extra = self.self_managed(plan, cluster, node_security)
            node_groups.append(dict(group_view(plan), name=plan["group"]["name"],
                                    zones=sorted({s["zone"] for s in plan["subnets"]}), **extra))
        summary = site.summarize_site(plans, cluster_subnets)
        result = dict(summary, changed=self.changed, actions=self.actions, node_groups=node_groups,
                      cluster=dict(described, adopted=cluster_exists), security_group_ids=security_group_ids,
                      node_security_group_id=node_group_id)
        if self.module._diff:
            result["diff"] = {"before": self.before, "after": self.after}
        return result


def main():
    taint_options = dict(
        key=dict(type="str", required=True, no_log=False),
        value=dict(type="str", default=""),
        effect=dict(type="str", default="NoSchedule", choices=["NoSchedule", "NoExecute", "PreferNoSchedule"]),
    )
    group_options = dict(
        name=dict(type="str", required=True),
        subnets=dict(type="list", elements="str", required=True),
        kind=dict(type="str", default="auto", choices=["auto", "managed", "self_managed"]),
        instance_type=dict(type="str", required=True),
        desired_size=dict(type="int", default=2),
        min_size=dict(type="int"),
        max_size=dict(type="int"),
        labels=dict(type="dict", default={}),
        taints=dict(type="list", elements="dict", options=taint_options, default=[]),
        node_role_arn=dict(type="str"),
        image_id=dict(type="str"),
        instance_profile=dict(type="str"),
        volume_type=dict(type="str", default="gp2", choices=["gp2", "gp3", "io1", "io2"]),
        volume_size=dict(type="int", default=20),
        spread_placement=dict(type="bool", default=False),
    )
    outpost_options = dict(
        outpost_arns=dict(type="list", elements="str", required=True),
        control_plane_instance_type=dict(type="str", required=True),
    )
    cluster_options = dict(
        version=dict(type="str"),
        role_arn=dict(type="str"),
        subnets=dict(type="list", elements="str"),
        security_group_ids=dict(type="list", elements="str"),
        endpoint_public_access=dict(type="bool"),
        endpoint_private_access=dict(type="bool"),
        outpost=dict(type="dict", options=outpost_options),
        tags=dict(type="dict"),
    )
    argument_spec = dict(
        name=dict(type="str", required=True),
        cluster=dict(type="dict", options=cluster_options),
        node_groups=dict(type="list", elements="dict", options=group_options, default=[]),
        node_security_group=dict(type="dict", options=dict(name=dict(type="str"))),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        result = Run(module).present()
    except AnsibleAWSError as e:
        module.fail_json_aws_error(e)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
