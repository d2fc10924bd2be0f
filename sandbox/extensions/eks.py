"""Amazon EKS: every cluster gets a working Kubernetes API, and DescribeCluster points at it.

moto keeps the EKS records; this extension starts a sandbox cluster (``sandbox.kubernetes``) for each
cluster EKS creates and rewrites CreateCluster/DescribeCluster answers so ``endpoint`` is that cluster's
HTTPS listener, ``certificateAuthority.data`` the base64 PEM of the sandbox CA, and ``status`` ACTIVE.
As EKS does, CreateCluster also makes the cluster security group in the cluster's VPC, and the cluster's
``resourcesVpcConfig`` reports ``vpcId``, ``clusterSecurityGroupId`` and the endpoint access defaults (public on,
private off) that moto leaves out.
Managed node groups become Node objects: CreateNodegroup adds ``desiredSize`` nodes, UpdateNodegroupConfig
adds or removes nodes to match a new ``desiredSize``, DeleteNodegroup removes them.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends
from moto.eks.models import eks_backends
from werkzeug.wrappers import Response

from sandbox.extensions.base import Extension, Handler
from sandbox.kubernetes.cluster import Cluster, ClusterRegistry, ClusterSpec
from sandbox.kubernetes.nodes import DEFAULT_INSTANCE_TYPE
from sandbox.protocol import AwsRequest, Forward

_CLUSTERS = re.compile(r"/clusters/?")
_CLUSTER = re.compile(r"/clusters/(?P<name>[^/]+)/?")
_NODEGROUPS = re.compile(r"/clusters/(?P<name>[^/]+)/node-groups/?")
_NODEGROUP = re.compile(r"/clusters/(?P<name>[^/]+)/node-groups/(?P<nodegroup>[^/]+)(?P<update>/update-config)?/?")
NODEGROUP_LABEL = "eks.amazonaws.com/nodegroup"
TAINT_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


class EksExtension(Extension):
    service = "eks"

    def __init__(self, clusters: ClusterRegistry):
        self.clusters = clusters
        # (region, cluster name) -> the outpostConfig of a local cluster on Outposts, which moto drops.
        self.outpost_configs: dict[tuple[str, str], dict[str, Any]] = {}

    def route(self, request: AwsRequest) -> Handler | None:
        path, method = request.path, request.method
        if _CLUSTERS.fullmatch(path) and method == "POST":
            return self.create_cluster
        if _CLUSTER.fullmatch(path):
            return {"GET": self.describe_cluster, "DELETE": self.delete_cluster}.get(method)
        if _NODEGROUPS.fullmatch(path) and method == "POST":
            return self.create_nodegroup
        match = _NODEGROUP.fullmatch(path)
        if match and (method == "DELETE" or match["update"] and method == "POST"):
            return self.change_nodegroup
        return None

    def status(self) -> dict[str, Any]:
        return {"clusters": [cluster.describe() for cluster in self.clusters.all()]}

    # -- clusters ----------------------------------------------------------------------------

    def create_cluster(self, request: AwsRequest, forward: Forward) -> Response:
        body = json.loads(request.body or b"{}")
        response = forward(request)
        if response.status_code == 200:
            complete_vpc_config(request.region, body["name"])
        if response.status_code == 200 and body.get("outpostConfig"):
            config = dict(body["outpostConfig"])
            config.setdefault("controlPlanePlacement", {})
            self.outpost_configs[(request.region, body["name"])] = config
        return self.with_api(request, response)

    def describe_cluster(self, request: AwsRequest, forward: Forward) -> Response:
        return self.with_api(request, forward(request))

    def delete_cluster(self, request: AwsRequest, forward: Forward) -> Response:
        response = forward(request)
        if response.status_code == 200:
            name = _CLUSTER.fullmatch(request.path)["name"]
            self.clusters.remove(request.region, name)
            self.outpost_configs.pop((request.region, name), None)
        return response

    def with_api(self, request: AwsRequest, response: Response) -> Response:
        """moto's cluster answer with the endpoint and CA of the cluster's (started) API."""
        if response.status_code != 200:
            return response
        answer = json.loads(response.get_data())
        record = answer["cluster"]
        record["resourcesVpcConfig"] = eks_backends[DEFAULT_ACCOUNT_ID][request.region].describe_cluster(
            record["name"]).resources_vpc_config
        cluster = self.clusters.register(spec_of(record, request.region))
        record.update(endpoint=cluster.endpoint, status="ACTIVE",
                      certificateAuthority={"data": base64.b64encode(self.clusters.tls.ca_pem).decode()})
        outpost_config = self.outpost_configs.get((request.region, record["name"]))
        if outpost_config:
            # A local cluster on Outposts: its control plane runs on the Outpost and it has an id.
            record.update(outpostConfig=outpost_config, id=record.get("id") or record["arn"].rsplit("/", 1)[-1])
        response.set_data(json.dumps(answer))
        return response

    # -- node groups ---------------------------------------------------------------------------

    def create_nodegroup(self, request: AwsRequest, forward: Forward) -> Response:
        response = forward(request)
        cluster = self.cluster(request)
        if response.status_code == 200 and cluster:
            body = json.loads(request.body or b"{}")
            wanted = (body.get("scalingConfig") or {}).get("desiredSize", 2)
            self.resize(cluster, request.region, body, wanted)
        return response

    def change_nodegroup(self, request: AwsRequest, forward: Forward) -> Response:
        match = _NODEGROUP.fullmatch(request.path)
        response = forward(request)
        cluster = self.cluster(request)
        if response.status_code != 200 or cluster is None:
            return response
        if request.method == "DELETE":
            self.resize(cluster, request.region, {"nodegroupName": match["nodegroup"]}, 0)
            return response
        wanted = (json.loads(request.body or b"{}").get("scalingConfig") or {}).get("desiredSize")
        if wanted is not None:
            record = eks_backends[DEFAULT_ACCOUNT_ID][request.region].describe_nodegroup(match["name"], match["nodegroup"])
            self.resize(cluster, request.region, {
                "nodegroupName": record.nodegroup_name, "instanceTypes": record.instance_types,
                "capacityType": record.capacity_type, "subnets": record.subnets, "labels": record.labels,
                "taints": record.taints}, wanted)
        return response

    def cluster(self, request: AwsRequest) -> Cluster | None:
        name = request.path.split("/")[2]
        return self.clusters.get(request.region, name)

    def resize(self, cluster: Cluster, region: str, nodegroup: dict[str, Any], wanted: int) -> None:
        """Add or remove Nodes of ``nodegroup`` (an EKS node group description) until there are ``wanted``."""
        name = nodegroup["nodegroupName"]
        nodes_type = cluster.store.type("", "nodes")
        current = [n for n in cluster.store.list(nodes_type)
                   if (n["metadata"].get("labels") or {}).get(NODEGROUP_LABEL) == name]
        for node in current[wanted:]:
            cluster.store.delete(nodes_type, None, node["metadata"]["name"])
        if len(current) < wanted:
            instance_type = (nodegroup.get("instanceTypes") or [DEFAULT_INSTANCE_TYPE])[0]
            labels = {NODEGROUP_LABEL: name, "eks.amazonaws.com/capacityType": nodegroup.get("capacityType", "ON_DEMAND"),
                      **(nodegroup.get("labels") or {})}
            taints = [{"key": t["key"], "value": t.get("value", ""), "effect": TAINT_EFFECTS.get(t["effect"], t["effect"])}
                      for t in nodegroup.get("taints") or []]
            cluster.add_nodes(wanted - len(current), instance_type, subnet_zones(region, nodegroup.get("subnets") or []),
                              labels, taints)


def complete_vpc_config(region: str, name: str) -> None:
    """Fill in what EKS adds to a new cluster's VPC configuration: its VPC, its cluster security group (created
    here, tagged as EKS tags it) and the endpoint access defaults."""
    config = eks_backends[DEFAULT_ACCOUNT_ID][region].describe_cluster(name).resources_vpc_config
    config.setdefault("endpointPublicAccess", True)
    config.setdefault("endpointPrivateAccess", False)
    config.setdefault("publicAccessCidrs", ["0.0.0.0/0"])
    config.setdefault("securityGroupIds", [])
    ec2 = ec2_backends[DEFAULT_ACCOUNT_ID][region]
    try:
        vpc_id = ec2.get_subnet((config.get("subnetIds") or [])[0]).vpc_id
    except Exception:  # no subnets, or subnets moto does not know: nothing to attach a security group to
        return
    config.setdefault("vpcId", vpc_id)
    if "clusterSecurityGroupId" not in config:
        suffix = uuid.uuid4().hex[:10]
        group = ec2.create_security_group(
            f"eks-cluster-sg-{name}-{suffix}", "EKS created security group applied to ENI that is attached to EKS "
            "Control Plane master nodes, as well as any managed workloads.", vpc_id=vpc_id,
            tags={"aws:eks:cluster-name": name, f"kubernetes.io/cluster/{name}": "owned"})
        config["clusterSecurityGroupId"] = group.id


def spec_of(record: dict[str, Any], region: str) -> ClusterSpec:
    """What the sandbox cluster needs from an EKS cluster description."""
    vpc = record.get("resourcesVpcConfig") or {}
    subnets = vpc.get("subnetIds") or []
    return ClusterSpec(name=record["name"], region=region, version=record.get("version") or "1.31",
                       arn=record.get("arn", ""), subnet_ids=subnets, vpc_id=vpc.get("vpcId", ""),
                       zones=subnet_zones(region, subnets))


def subnet_zones(region: str, subnet_ids: list[str]) -> list[str]:
    """The availability zone of each subnet moto knows, in order (unknown subnets are skipped)."""
    backend = ec2_backends[DEFAULT_ACCOUNT_ID][region]
    zones = []
    for subnet_id in subnet_ids:
        try:
            zones.append(backend.get_subnet(subnet_id).availability_zone)
        except Exception:  # moto raises its own InvalidSubnetIdError; an unknown subnet has no zone
            continue
    return zones
