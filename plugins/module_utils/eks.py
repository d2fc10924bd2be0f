# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Amazon EKS helpers: find a cluster's API endpoint and make the bearer token its API server accepts.

* thin wrappers, one per AWS call, retried with ``AWSRetry.jittered_backoff`` and raising ``AnsibleEKSError``;
* pure functions (plain values in, plain values out) that encode the token and judge a cluster.

The token is made exactly as ``aws eks get-token`` makes it: a presigned STS ``GetCallerIdentity`` URL
(valid 60 seconds, the ``x-k8s-aws-id`` header naming the cluster signed into it), base64url encoded
without padding and prefixed with ``k8s-aws-v1.``. The API server accepts it for 15 minutes.
"""

import base64

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

TOKEN_PREFIX = "k8s-aws-v1."
K8S_AWS_ID_HEADER = "x-k8s-aws-id"
# How long the presigned URL inside the token is valid (what aws eks get-token uses).
TOKEN_URL_EXPIRES = 60
# How long the API server accepts a token after it was made.
TOKEN_LIFETIME_MINUTES = 15

_HANDLER_ID = "eks-ha-resilience-k8s-aws-id"


class AnsibleEKSError(AnsibleAWSError):
    pass


class EKSErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleEKSError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ResourceNotFoundException")


# ---------------------------------------------------------------------------
# AWS calls: one each
# ---------------------------------------------------------------------------


@EKSErrorHandler.list_error_handler("describe EKS cluster")
@AWSRetry.jittered_backoff()
def describe_cluster(client, name):
    """Return the ``cluster`` dict of DescribeCluster for ``name``, or None when there is no such cluster."""
    return client.describe_cluster(name=name)["cluster"]


def _keep_k8s_aws_id(params, context, **kwargs):
    # GetCallerIdentity has no such parameter: move it out of the params before validation.
    if K8S_AWS_ID_HEADER in params:
        context[K8S_AWS_ID_HEADER] = params.pop(K8S_AWS_ID_HEADER)


def _sign_k8s_aws_id(request, **kwargs):
    # Added before signing, so the header is part of the signature the API server checks.
    if K8S_AWS_ID_HEADER in request.context:
        request.headers[K8S_AWS_ID_HEADER] = request.context[K8S_AWS_ID_HEADER]


@EKSErrorHandler.common_error_handler("make the EKS token")
def presigned_identity_url(sts_client, cluster_name):
    """Return a GetCallerIdentity URL presigned for 60 seconds with the ``x-k8s-aws-id`` header signed in."""
    events = sts_client.meta.events
    events.register("provide-client-params.sts.GetCallerIdentity", _keep_k8s_aws_id, unique_id=_HANDLER_ID + "-params")
    events.register("before-sign.sts.GetCallerIdentity", _sign_k8s_aws_id, unique_id=_HANDLER_ID + "-sign")
    return sts_client.generate_presigned_url(
        "get_caller_identity",
        Params={K8S_AWS_ID_HEADER: cluster_name},
        ExpiresIn=TOKEN_URL_EXPIRES,
        HttpMethod="GET",
    )


def get_token(sts_client, cluster_name):
    """Return a bearer token for the API server of ``cluster_name`` (``sts_client`` in the cluster's region)."""
    return encode_token(presigned_identity_url(sts_client, cluster_name))


# ---------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------


def encode_token(url):
    """Return the token for a presigned URL: ``k8s-aws-v1.`` + base64url(url) without ``=`` padding."""
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode("utf-8")).decode("utf-8").rstrip("=")


def decode_token(token):
    """Return the presigned URL inside ``token``; raise ValueError when it is not an EKS token."""
    if not token.startswith(TOKEN_PREFIX):
        raise ValueError(f"an EKS token starts with {TOKEN_PREFIX}")
    body = token[len(TOKEN_PREFIX):]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")


def cluster_problem(cluster, name):
    """Return one sentence saying why the API of cluster ``name`` cannot be used, or None when it can."""
    if cluster is None:
        return f"EKS cluster '{name}' does not exist in this region; check eks_cluster and region."
    status = cluster.get("status")
    if status != "ACTIVE":
        return f"EKS cluster '{name}' is {status}, not ACTIVE; its API can only be used once it is ACTIVE."
    if not cluster.get("endpoint") or not (cluster.get("certificateAuthority") or {}).get("data"):
        return f"EKS cluster '{name}' reports no API endpoint or certificate authority yet."
    return None


def usable_cluster(module, name):
    """Describe cluster ``name`` in the module's region, or fail the module with one sentence saying why its API
    cannot be used (no region, no such cluster, not ACTIVE, no endpoint yet)."""
    if not module.region:
        module.fail_json(msg="region is required with eks_cluster: give the region of the EKS cluster.")
    cluster = describe_cluster(module.client("eks"), name)
    problem = cluster_problem(cluster, name)
    if problem:
        module.fail_json(msg=problem)
    return cluster


def cluster_endpoint(cluster):
    """Return ``(endpoint, ca_data)`` of a described cluster, ``ca_data`` being the base64 PEM EKS returns."""
    return cluster["endpoint"], cluster["certificateAuthority"]["data"]


def is_outpost_cluster(cluster):
    """Tell whether a described cluster is a local cluster on AWS Outposts (it has ``outpostConfig``)."""
    return bool(cluster and cluster.get("outpostConfig"))


# ---------------------------------------------------------------------------
# Sites: clusters and managed node groups
# ---------------------------------------------------------------------------

# Kubernetes taint effects and the way the EKS API spells them.
TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}
BOOTSTRAP_SCRIPT = "/etc/eks/bootstrap.sh"


@EKSErrorHandler.common_error_handler("create EKS cluster")
@AWSRetry.jittered_backoff()
def create_cluster(client, request):
    """Create a cluster from ``request`` (CreateCluster parameters); return its ``cluster`` dict."""
    return client.create_cluster(**request)["cluster"]


@EKSErrorHandler.common_error_handler("wait for the EKS cluster to be ACTIVE")
def wait_cluster_active(client, name, timeout):
    """Wait until cluster ``name`` is ACTIVE (polling every 10 seconds) and return its description."""
    client.get_waiter("cluster_active").wait(name=name, WaiterConfig={"Delay": 10, "MaxAttempts": max(timeout // 10, 1)})
    return describe_cluster(client, name)


@EKSErrorHandler.list_error_handler("describe EKS node group")
@AWSRetry.jittered_backoff()
def describe_nodegroup(client, cluster_name, name):
    """The ``nodegroup`` dict of DescribeNodegroup, or None when the cluster has no such node group."""
    return client.describe_nodegroup(clusterName=cluster_name, nodegroupName=name)["nodegroup"]


@EKSErrorHandler.common_error_handler("create EKS node group")
@AWSRetry.jittered_backoff()
def create_nodegroup(client, request):
    return client.create_nodegroup(**request)["nodegroup"]


@EKSErrorHandler.common_error_handler("update EKS node group")
@AWSRetry.jittered_backoff()
def update_nodegroup_config(client, cluster_name, name, changes):
    return client.update_nodegroup_config(clusterName=cluster_name, nodegroupName=name, **changes)["update"]


def eks_taints(taints):
    """Taints in Kubernetes form (effect ``NoSchedule``...) as the EKS API takes them (``NO_SCHEDULE``...)."""
    return [{"key": t["key"], "value": t.get("value") or "", "effect": TAINT_EFFECTS[t["effect"]]} for t in taints or []]


def kubernetes_taints(taints):
    """EKS API taints in Kubernetes form."""
    effects = {v: k for k, v in TAINT_EFFECTS.items()}
    return [{"key": t["key"], "value": t.get("value") or "", "effect": effects.get(t["effect"], t["effect"])}
            for t in taints or []]


def cluster_request(name, version, role_arn, subnet_ids, public_access, private_access, security_group_ids=None,
                    outpost=None, tags=None):
    """CreateCluster parameters. ``outpost`` (``{outpost_arns, control_plane_instance_type}``) makes a local cluster
    whose control plane runs on the Outpost."""
    request = {
        "name": name,
        "roleArn": role_arn,
        "resourcesVpcConfig": {"subnetIds": list(subnet_ids), "securityGroupIds": list(security_group_ids or []),
                               "endpointPublicAccess": True if public_access is None else public_access,
                               "endpointPrivateAccess": bool(private_access)},
    }
    if version:
        request["version"] = version
    if outpost:
        request["outpostConfig"] = {"outpostArns": list(outpost["outpost_arns"]),
                                    "controlPlaneInstanceType": outpost["control_plane_instance_type"]}
    if tags:
        request["tags"] = dict(tags)
    return request


def cluster_differences(cluster, request):
    """What an existing cluster has that the module was asked otherwise, as ``(setting, has, asked)`` triples.

    Only settings given in ``request`` (CreateCluster parameters, ``None`` for the ones not given) are compared.
    """
    vpc = cluster.get("resourcesVpcConfig") or {}
    wanted_vpc = request.get("resourcesVpcConfig") or {}
    differences = []
    if request.get("version") and cluster.get("version") != request["version"]:
        differences.append(("version", cluster.get("version"), request["version"]))
    if request.get("roleArn") and cluster.get("roleArn") != request["roleArn"]:
        differences.append(("role_arn", cluster.get("roleArn"), request["roleArn"]))
    if wanted_vpc.get("subnetIds") and sorted(vpc.get("subnetIds") or []) != sorted(wanted_vpc["subnetIds"]):
        differences.append(("subnets", sorted(vpc.get("subnetIds") or []), sorted(wanted_vpc["subnetIds"])))
    if wanted_vpc.get("securityGroupIds") and sorted(vpc.get("securityGroupIds") or []) != sorted(
            wanted_vpc["securityGroupIds"]):
        differences.append(("security_group_ids", sorted(vpc.get("securityGroupIds") or []),
                            sorted(wanted_vpc["securityGroupIds"])))
    for key, option in (("endpointPublicAccess", "endpoint_public_access"),
                        ("endpointPrivateAccess", "endpoint_private_access")):
        if wanted_vpc.get(key) is not None and key in vpc and vpc[key] != wanted_vpc[key]:
            differences.append((option, vpc[key], wanted_vpc[key]))
    have_outpost = cluster.get("outpostConfig") or {}
    want_outpost = request.get("outpostConfig") or {}
    if want_outpost:
        for key, option in (("outpostArns", "outpost.outpost_arns"),
                            ("controlPlaneInstanceType", "outpost.control_plane_instance_type")):
            if have_outpost.get(key) != want_outpost[key]:
                differences.append((option, have_outpost.get(key), want_outpost[key]))
    return differences


def kind_mismatch(cluster, request, name):
    """The sentence refusing to adopt a cluster whose placement (local on an Outpost, or in the Region) differs from
    the one asked for, or None. Node groups are planned for the placement, so this cannot be a warning."""
    if is_outpost_cluster(cluster) and not request.get("outpostConfig"):
        return (f"EKS cluster '{name}' is a local cluster on AWS Outposts (it has outpostConfig) but cluster.outpost "
                "is not set; give cluster.outpost to adopt it, or choose another cluster name.")
    if request.get("outpostConfig") and not is_outpost_cluster(cluster):
        return (f"EKS cluster '{name}' has its control plane in the Region but cluster.outpost asks for a local "
                "cluster on AWS Outposts; the placement of a cluster cannot change, so remove cluster.outpost or "
                "choose another cluster name.")
    return None


def nodegroup_request(cluster_name, name, node_role, subnet_ids, instance_type, sizes, labels, taints, tags=None):
    """CreateNodegroup parameters; ``sizes`` is ``(min, max, desired)`` and ``taints`` are in Kubernetes form."""
    minimum, maximum, desired = sizes
    request = {
        "clusterName": cluster_name, "nodegroupName": name, "nodeRole": node_role, "subnets": list(subnet_ids),
        "instanceTypes": [instance_type],
        "scalingConfig": {"minSize": minimum, "maxSize": maximum, "desiredSize": desired},
        "labels": dict(labels or {}), "taints": eks_taints(taints),
    }
    if tags:
        request["tags"] = dict(tags)
    return request


def nodegroup_changes(current, request):
    """UpdateNodegroupConfig parameters that make the described node group ``current`` match ``request``
    (CreateNodegroup parameters): scaling, labels and taints; {} when it already matches."""
    changes = {}
    scaling = current.get("scalingConfig") or {}
    if any(scaling.get(k) != v for k, v in request["scalingConfig"].items()):
        changes["scalingConfig"] = dict(request["scalingConfig"])
    have_labels, want_labels = current.get("labels") or {}, request["labels"]
    add = {k: v for k, v in want_labels.items() if have_labels.get(k) != v}
    remove = sorted(set(have_labels) - set(want_labels))
    if add or remove:
        changes["labels"] = {key: value for key, value in (("addOrUpdateLabels", add), ("removeLabels", remove)) if value}
    have_taints = {(t["key"], t.get("value") or "", t["effect"]) for t in current.get("taints") or []}
    want_taints = {(t["key"], t["value"], t["effect"]) for t in request["taints"]}
    add_taints = [{"key": k, "value": v, "effect": e} for k, v, e in sorted(want_taints - have_taints)]
    # A taint whose value changes is replaced in place by addOrUpdateTaints (same key and effect).
    replaced = {(k, e) for k, _v, e in want_taints}
    remove_taints = [{"key": k, "effect": e} for k, v, e in sorted(have_taints - want_taints) if (k, e) not in replaced]
    if add_taints or remove_taints:
        changes["taints"] = {key: value for key, value in (("addOrUpdateTaints", add_taints),
                                                           ("removeTaints", remove_taints)) if value}
    return changes


def nodegroup_immutable_differences(current, request):
    """Settings of an existing managed node group that cannot change in place, as ``(setting, has, asked)``."""
    differences = []
    if sorted(current.get("instanceTypes") or []) != sorted(request["instanceTypes"]):
        differences.append(("instance_type", current.get("instanceTypes"), request["instanceTypes"]))
    if sorted(current.get("subnets") or []) != sorted(request["subnets"]):
        differences.append(("subnets", sorted(current.get("subnets") or []), sorted(request["subnets"])))
    return differences


def _quote(value):
    return "'" + str(value).replace("'", "'\"'\"'") + "'"


def kubelet_extra_args(labels, taints):
    """``--node-labels`` and ``--register-with-taints`` kubelet arguments (taints in Kubernetes form)."""
    parts = []
    if labels:
        parts.append("--node-labels=" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())))
    if taints:
        parts.append("--register-with-taints=" + ",".join(
            f"{t['key']}={t.get('value') or ''}:{t['effect']}" for t in taints))
    return " ".join(parts)


def bootstrap_user_data(cluster_name, endpoint, ca_data, labels=None, taints=None, local_cluster_id=None):
    """The user data of a self-managed node of the EKS optimized Amazon Linux 2 AMI: a script running
    ``/etc/eks/bootstrap.sh <cluster>`` with the API endpoint and CA (so the node does not call DescribeCluster), the
    node's labels and taints as kubelet extra arguments, and for a local cluster on Outposts its id.
    """
    command = [BOOTSTRAP_SCRIPT, _quote(cluster_name)]
    if endpoint:
        command += ["--apiserver-endpoint", _quote(endpoint)]
    if ca_data:
        command += ["--b64-cluster-ca", _quote(ca_data)]
    if local_cluster_id:
        command += ["--enable-local-outpost", "true", "--cluster-id", _quote(local_cluster_id)]
    extra = kubelet_extra_args(labels, taints)
    if extra:
        command += ["--kubelet-extra-args", _quote(extra)]
    return "#!/bin/bash\nset -o errexit\n" + " ".join(command) + "\n"


def describe_site_cluster(cluster):
    """What ``eks_site`` returns about a described cluster."""
    vpc = cluster.get("resourcesVpcConfig") or {}
    outpost = cluster.get("outpostConfig")
    return {
        "name": cluster["name"],
        "arn": cluster.get("arn"),
        "status": cluster.get("status"),
        "version": cluster.get("version"),
        "endpoint": cluster.get("endpoint"),
        "certificate_authority_data": (cluster.get("certificateAuthority") or {}).get("data"),
        "role_arn": cluster.get("roleArn"),
        "vpc_id": vpc.get("vpcId"),
        "subnet_ids": vpc.get("subnetIds") or [],
        "security_group_ids": vpc.get("securityGroupIds") or [],
        "cluster_security_group_id": vpc.get("clusterSecurityGroupId"),
        "endpoint_public_access": vpc.get("endpointPublicAccess"),
        "endpoint_private_access": vpc.get("endpointPrivateAccess"),
        "outpost": None if not outpost else {
            "outpost_arns": outpost.get("outpostArns") or [],
            "control_plane_instance_type": outpost.get("controlPlaneInstanceType")},
        "id": cluster.get("id"),
    }
