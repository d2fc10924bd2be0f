"""The EKS bearer token is made as ``aws eks get-token`` makes it, and clusters are judged with one sentence."""

import datetime
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import boto3
import botocore.auth
import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import TOKEN_PREFIX
from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import cluster_endpoint
from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import cluster_problem
from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import decode_token
from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import encode_token
from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import get_token
from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import is_outpost_cluster


def sts_client(region="us-west-2", endpoint_url=None):
    # Presigning is local: no request leaves the process.
    return boto3.client("sts", region_name=region, endpoint_url=endpoint_url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def query_of(token):
    url = decode_token(token)
    return urlsplit(url), {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_token_is_prefixed_unpadded_base64url():
    token = get_token(sts_client(), "eks-ha-localzone")
    assert token.startswith(TOKEN_PREFIX)
    body = token[len(TOKEN_PREFIX):]
    assert "=" not in body and "+" not in body and "/" not in body


def test_token_is_a_presigned_get_caller_identity_url_with_the_cluster_header_signed():
    parts, query = query_of(get_token(sts_client(), "eks-ha-localzone"))
    assert parts.scheme == "https"
    assert parts.netloc == "sts.us-west-2.amazonaws.com"
    assert query["Action"] == "GetCallerIdentity"
    assert query["Version"] == "2011-06-15"
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == "60"
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"].split(";")
    assert query["X-Amz-Credential"].split("/")[2:4] == ["us-west-2", "sts"]
    assert query["X-Amz-Signature"]
    # The cluster name is signed as a header, not sent as a parameter.
    assert "x-k8s-aws-id" not in query


@pytest.fixture
def frozen_clock(monkeypatch):
    """Sign every request at the same instant, so two signatures differ only by what was signed."""
    instant = datetime.datetime(2026, 1, 2, 3, 4, 5)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: instant)
    return instant


def test_token_signature_covers_the_cluster_name(frozen_clock):
    first = query_of(get_token(sts_client(), "cluster-a"))[1]
    second = query_of(get_token(sts_client(), "cluster-b"))[1]
    assert first["X-Amz-Date"] == second["X-Amz-Date"] == "20260102T030405Z"
    assert first["X-Amz-Signature"] != second["X-Amz-Signature"]


def test_token_signature_is_the_one_sts_checks(frozen_clock):
    """Sign the same GET with the x-k8s-aws-id header by hand: the signatures must be equal."""
    query = query_of(get_token(sts_client(), "eks-ha-localzone"))[1]
    request = AWSRequest(method="GET", url="https://sts.us-west-2.amazonaws.com/",
                         params={"Action": "GetCallerIdentity", "Version": "2011-06-15"},
                         headers={"x-k8s-aws-id": "eks-ha-localzone"})
    SigV4QueryAuth(Credentials("testing", "testing"), "sts", "us-west-2", expires=60).add_auth(request)
    expected = {key: values[0] for key, values in parse_qs(urlsplit(request.url).query).items()}
    assert query["X-Amz-Signature"] == expected["X-Amz-Signature"]


def test_token_follows_the_endpoint_url():
    parts, query = query_of(get_token(sts_client("us-east-1", "http://127.0.0.1:4566"), "lz"))
    assert (parts.scheme, parts.netloc) == ("http", "127.0.0.1:4566")
    assert query["X-Amz-Credential"].split("/")[2] == "us-east-1"


def test_repeated_tokens_register_the_handlers_once():
    client = sts_client()
    get_token(client, "one")
    token = get_token(client, "two")
    assert "x-k8s-aws-id" in query_of(token)[1]["X-Amz-SignedHeaders"]


@pytest.mark.parametrize("url", ["https://sts.amazonaws.com/?Action=GetCallerIdentity", "a", "ab", "abc"])
def test_encode_decode_round_trip(url):
    assert decode_token(encode_token(url)) == url


def test_decode_refuses_other_tokens():
    with pytest.raises(ValueError, match="k8s-aws-v1."):
        decode_token("eyJhbGciOi")


ACTIVE = {"status": "ACTIVE", "endpoint": "https://abc.eks.amazonaws.com", "certificateAuthority": {"data": "Q0E="}}


@pytest.mark.parametrize("cluster, sentence", [
    (None, "EKS cluster 'shop' does not exist in this region; check eks_cluster and region."),
    (dict(ACTIVE, status="CREATING"), "EKS cluster 'shop' is CREATING, not ACTIVE; its API can only be used once it is ACTIVE."),
    (dict(ACTIVE, endpoint=None), "EKS cluster 'shop' reports no API endpoint or certificate authority yet."),
    (dict(ACTIVE, certificateAuthority={}), "EKS cluster 'shop' reports no API endpoint or certificate authority yet."),
    (ACTIVE, None),
])
def test_cluster_problem(cluster, sentence):
    assert cluster_problem(cluster, "shop") == sentence


def test_cluster_endpoint():
    assert cluster_endpoint(ACTIVE) == ("https://abc.eks.amazonaws.com", "Q0E=")


@pytest.mark.parametrize("cluster, expected", [
    (None, False),
    (ACTIVE, False),
    (dict(ACTIVE, outpostConfig={"outpostArns": ["arn:aws:outposts:us-west-2:123456789012:outpost/op-1"]}), True),
])
def test_is_outpost_cluster(cluster, expected):
    assert is_outpost_cluster(cluster) is expected
