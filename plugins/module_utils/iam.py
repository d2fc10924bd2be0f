# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""AWS IAM helpers for OpenID Connect identity providers (what IRSA trusts).

* thin wrappers, one per AWS call, retried with ``AWSRetry.jittered_backoff`` and raising ``AnsibleIAMError``;
* pure functions (plain values in, plain values out) that name a provider and plan the changes to it.

IAM keeps a provider's URL without its ``https://`` scheme and names the provider after it:
``arn:<partition>:iam::<account>:oidc-provider/<host>/<path>``. An account holds at most one provider per URL.
"""

from ansible_collections.amazon.aws.plugins.module_utils.iam import IAMErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

# The audience the EKS pod identity webhook asks STS for (what IRSA needs).
DEFAULT_CLIENT_IDS = ("sts.amazonaws.com",)


# ---------------------------------------------------------------------------
# AWS calls: one each
# ---------------------------------------------------------------------------


@IAMErrorHandler.list_error_handler("list OpenID Connect providers", default_value=[])
@AWSRetry.jittered_backoff()
def list_oidc_provider_arns(client):
    """Return the ARNs of every OpenID Connect provider of the account."""
    return [p["Arn"] for p in client.list_open_id_connect_providers()["OpenIDConnectProviderList"]]


@IAMErrorHandler.list_error_handler("get OpenID Connect provider")
@AWSRetry.jittered_backoff()
def get_oidc_provider(client, arn):
    """Return GetOpenIDConnectProvider for ``arn`` (without ResponseMetadata), or None when there is none."""
    provider = client.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    provider.pop("ResponseMetadata", None)
    return provider


@IAMErrorHandler.common_error_handler("create OpenID Connect provider")
@AWSRetry.jittered_backoff()
def create_oidc_provider(client, url, client_ids, thumbprints, tags):
    """Create the provider for ``url`` and return its ARN."""
    params = {"Url": url, "ClientIDList": list(client_ids)}
    if thumbprints:
        params["ThumbprintList"] = list(thumbprints)
    if tags:
        params["Tags"] = ansible_dict_to_boto3_tag_list(tags)
    return client.create_open_id_connect_provider(**params)["OpenIDConnectProviderArn"]


@IAMErrorHandler.deletion_error_handler("delete OpenID Connect provider")
@AWSRetry.jittered_backoff()
def delete_oidc_provider(client, arn):
    client.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    return True


@IAMErrorHandler.common_error_handler("add client ID to OpenID Connect provider")
@AWSRetry.jittered_backoff()
def add_client_id(client, arn, client_id):
    client.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID=client_id)


@IAMErrorHandler.common_error_handler("remove client ID from OpenID Connect provider")
@AWSRetry.jittered_backoff()
def remove_client_id(client, arn, client_id):
    client.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID=client_id)


@IAMErrorHandler.common_error_handler("update OpenID Connect provider thumbprints")
@AWSRetry.jittered_backoff()
def update_thumbprints(client, arn, thumbprints):
    client.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn, ThumbprintList=list(thumbprints))


@IAMErrorHandler.common_error_handler("tag OpenID Connect provider")
@AWSRetry.jittered_backoff()
def tag_oidc_provider(client, arn, tags):
    client.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn, Tags=ansible_dict_to_boto3_tag_list(tags))


@IAMErrorHandler.common_error_handler("untag OpenID Connect provider")
@AWSRetry.jittered_backoff()
def untag_oidc_provider(client, arn, keys):
    client.untag_open_id_connect_provider(OpenIDConnectProviderArn=arn, TagKeys=list(keys))


# ---------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------


def normalize_issuer_url(url):
    """Return ``url`` as IAM stores a provider's URL: no scheme, no trailing slash, lower-case host.

    Raise ValueError with one sentence when it is not an ``https://`` URL (IAM accepts no other scheme)."""
    url = (url or "").strip()
    scheme, separator, rest = url.partition("://")
    if not separator:
        rest, scheme = url, "https"
    if scheme.lower() != "https" or not rest.strip("/"):
        raise ValueError(f"url must be an https:// issuer URL such as https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE, got '{url}'.")
    host, slash, path = rest.rstrip("/").partition("/")
    return host.lower() + slash + path


def provider_arn(partition, account_id, url):
    """Return the ARN IAM gives the provider of ``url`` in ``account_id``."""
    return f"arn:{partition}:iam::{account_id}:oidc-provider/{normalize_issuer_url(url)}"


def arn_url(arn):
    """Return the provider URL (as IAM stores it) that an ``oidc-provider`` ARN names, or None for another ARN."""
    _prefix, separator, url = (arn or "").partition(":oidc-provider/")
    return url if separator else None


def find_provider_arn(arns, url):
    """Return the ARN among ``arns`` naming the provider of ``url``, or None."""
    wanted = normalize_issuer_url(url)
    for arn in arns or []:
        found = arn_url(arn)
        if found is not None and normalize_issuer_url(found) == wanted:
            return arn
    return None


def plan_client_ids(current, desired, purge):
    """Return ``(to_add, to_remove)``: the client IDs missing from ``current``, and those to drop when ``purge``."""
    current = list(current or [])
    to_add = [c for c in dict.fromkeys(desired or []) if c not in current]
    to_remove = [c for c in current if c not in (desired or [])] if purge else []
    return to_add, to_remove


def thumbprints_differ(current, desired):
    """Tell whether the thumbprint list must be replaced; None for ``desired`` means leave it alone.

    IAM compares thumbprints as hex strings without regard to case or order."""
    if desired is None:
        return False
    return sorted(t.lower() for t in current or []) != sorted(t.lower() for t in desired)


def plan_tags(current, desired, purge):
    """Return ``(to_set, to_remove_keys)`` from the current and the desired tag dicts (None: leave the tags alone)."""
    if desired is None:
        return {}, []
    return compare_aws_tags(current or {}, desired, purge)


def describe_provider(arn, provider):
    """Return the module's view of a provider: snake_case keys, tags as a dict."""
    if not provider:
        return {}
    return {
        "arn": arn,
        "url": provider.get("Url"),
        "client_ids": sorted(provider.get("ClientIDList") or []),
        "thumbprints": sorted(provider.get("ThumbprintList") or []),
        "tags": boto3_tag_list_to_ansible_dict(provider.get("Tags") or []),
    }


def desired_provider(arn, url, current, client_ids, purge_client_ids, thumbprints, tags, purge_tags):
    """Return the view of the provider once the module's changes are made (the ``after`` of the diff)."""
    current = current or {}
    current_client_ids = current.get("client_ids", [])
    to_add, to_remove = plan_client_ids(current_client_ids, client_ids, purge_client_ids)
    after_client_ids = sorted((set(current_client_ids) - set(to_remove)) | set(to_add))
    after_thumbprints = sorted(thumbprints) if thumbprints is not None else current.get("thumbprints", [])
    after_tags = dict(current.get("tags", {}))
    if tags is not None:
        to_set, to_drop = compare_aws_tags(after_tags, tags, purge_tags)
        for key in to_drop:
            after_tags.pop(key, None)
        after_tags.update(to_set)
    return {
        "arn": arn,
        "url": normalize_issuer_url(url),
        "client_ids": after_client_ids,
        "thumbprints": after_thumbprints,
        "tags": after_tags,
    }
