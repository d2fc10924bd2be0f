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
