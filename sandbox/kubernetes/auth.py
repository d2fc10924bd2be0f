"""Bearer tokens as EKS takes them: ``k8s-aws-v1.`` + base64url of a presigned STS GetCallerIdentity URL.

``aws eks get-token`` presigns ``GET /?Action=GetCallerIdentity&Version=2011-06-15`` with the extra signed
header ``x-k8s-aws-id: <cluster name>``. The sandbox cannot check signatures made with dummy keys, so it
checks the shape: a presigned GetCallerIdentity URL whose signed headers include ``x-k8s-aws-id``.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import botocore.session

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_ID_HEADER = "x-k8s-aws-id"


def token_is_valid(token: str) -> bool:
    """Whether ``token`` has the form an EKS cluster accepts (see the module docstring)."""
    if not token.startswith(TOKEN_PREFIX):
        return False
    encoded = token[len(TOKEN_PREFIX):]
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return False
    query = {k.lower(): v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    return (query.get("action") == "GetCallerIdentity" and "x-amz-signature" in query
            and CLUSTER_ID_HEADER in query.get("x-amz-signedheaders", "").split(";"))


def make_token(cluster: str, region: str, access_key: str = "testing", secret_key: str = "testing",
               endpoint_url: str | None = None) -> str:
    """A token made as ``aws eks get-token --cluster-name <cluster>`` makes it (no network needed)."""
    session = botocore.session.get_session()
    session.set_credentials(access_key, secret_key)
    sts = session.create_client("sts", region_name=region, endpoint_url=endpoint_url or f"https://sts.{region}.amazonaws.com")

    def add_cluster_header(request, **kwargs) -> None:
        request.headers[CLUSTER_ID_HEADER] = cluster

    sts.meta.events.register("before-sign.sts.GetCallerIdentity", add_cluster_header)
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
