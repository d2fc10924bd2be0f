#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: iam_oidc_provider
version_added: 0.1.0
short_description: Manage an IAM OpenID Connect identity provider, such as the one IRSA needs for an EKS cluster
description:
  - Creates, updates or deletes the IAM OpenID Connect provider of an issuer URL. IAM roles for service accounts
    (IRSA) on EKS need one for the cluster's issuer; their trust policies name it as the C(Federated) principal.
  - The issuer is given as O(url), or read from the EKS cluster O(eks_cluster) (C(DescribeCluster) in O(region)).
  - An existing provider is updated in place. Missing client IDs are added (and, with O(purge_client_ids), others
    removed), thumbprints are replaced when O(thumbprints) is given, and tags are set (and, with O(purge_tags),
    others removed) when O(tags) is given.
  - Check mode reads everything and changes nothing; the ARN a new provider would get is returned.
options:
  url:
    description:
      - The issuer URL of the provider, C(https://) followed by host and path.
      - Exactly one of O(url) and O(eks_cluster) is required.
    type: str
  eks_cluster:
    description:
      - The name of an EKS cluster in O(region) whose OIDC issuer is the provider's URL.
      - Exactly one of O(url) and O(eks_cluster) is required.
    type: str
  client_ids:
    description:
      - The client IDs (audiences) of the provider. IRSA needs C(sts.amazonaws.com).
    type: list
    elements: str
    default: [sts.amazonaws.com]
  purge_client_ids:
    description:
      - Remove client IDs of an existing provider that are not in O(client_ids).
    type: bool
    default: true
  thumbprints:
    description:
      - Hex SHA-1 thumbprints of the issuer's certificate chain. IAM no longer needs them for well-known issuers
        such as EKS; when omitted a new provider has none and an existing provider keeps its own.
    type: list
    elements: str
  state:
    description:
      - V(present) creates or updates the provider, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
author:
  - eks_ha.resilience maintainers (@eks-ha)
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The IRSA provider of an EKS cluster
  eks_ha.resilience.iam_oidc_provider:
    eks_cluster: eks-ha-outposts
    region: us-west-2
  register: oidc

- name: A provider given by its issuer URL, with tags
  eks_ha.resilience.iam_oidc_provider:
    url: https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE
    tags:
      cluster: eks-ha-localzone

- name: Remove it
  eks_ha.resilience.iam_oidc_provider:
    url: https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE
    state: absent
"""

RETURN = r"""
arn:
  description: The ARN of the provider (the one it would get, in check mode); empty after O(state=absent).
  returned: always
  type: str
  sample: arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE
issuer:
  description: The issuer URL with its C(https://) scheme, as EKS reports it and as O(url) takes it.
  returned: always
  type: str
  sample: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE
url:
  description: The provider URL as IAM stores it (no scheme); the prefix of the C(:sub) and C(:aud) condition keys.
  returned: always
  type: str
  sample: oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE
client_ids:
  description: The client IDs of the provider.
  returned: when state is present
  type: list
  elements: str
thumbprints:
  description: The thumbprints of the provider.
  returned: when state is present
  type: list
  elements: str
tags:
  description: The tags of the provider.
  returned: when state is present
  type: dict
diff:
  description: The provider before and after, when running with C(--diff).
  returned: when diff mode is enabled
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.iam import get_aws_account_info
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import AnsibleEKSError
from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import describe_cluster
from ansible_collections.amazon.aws.plugins.module_utils.iam import AnsibleIAMError
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import DEFAULT_CLIENT_IDS
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import add_client_id
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import create_oidc_provider
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import delete_oidc_provider
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import describe_provider
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import desired_provider
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import find_provider_arn
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import get_oidc_provider
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import list_oidc_provider_arns
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import normalize_issuer_url
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import plan_client_ids
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import plan_tags
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import provider_arn
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import remove_client_id
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import tag_oidc_provider
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import thumbprints_differ
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import untag_oidc_provider
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import update_thumbprints


# ---------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------


def cluster_issuer(cluster, name):
    """Return the OIDC issuer URL of a described EKS cluster; raise ValueError with one sentence when there is none."""
    if cluster is None:
        raise ValueError(f"EKS cluster '{name}' does not exist in this region; check eks_cluster and region.")
    issuer = ((cluster.get("identity") or {}).get("oidc") or {}).get("issuer")
    if not issuer:
        raise ValueError(f"EKS cluster '{name}' reports no OIDC issuer yet; wait until it is ACTIVE.")
    return issuer


# ---------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------


def resolve_url(module):
    """Return the issuer URL the module works on, from O(url) or the EKS cluster O(eks_cluster)."""
    if module.params["url"]:
        return module.params["url"]
    name = module.params["eks_cluster"]
    if not module.region:
        module.fail_json(msg="region is required with eks_cluster: give the region of the EKS cluster.")
    return cluster_issuer(describe_cluster(module.client("eks"), name), name)


def ensure_present(module, client, url, arn, current):
    """Create or update the provider of ``url``; return ``(changed, arn, after)``."""
    params = module.params
    client_ids, thumbprints, tags = params["client_ids"], params["thumbprints"], params["tags"]
    if not arn:
        if module.check_mode:
            account_id, partition = get_aws_account_info(module)
            arn = provider_arn(partition, account_id, url)
        else:
            arn = create_oidc_provider(client, "https://" + normalize_issuer_url(url), client_ids, thumbprints, tags)
        return True, arn, desired_provider(arn, url, {}, client_ids, True, thumbprints, tags, True)

    to_add, to_remove = plan_client_ids(current["client_ids"], client_ids, params["purge_client_ids"])
    replace_thumbprints = thumbprints_differ(current["thumbprints"], thumbprints)
    tags_to_set, tags_to_remove = plan_tags(current["tags"], tags, params["purge_tags"])
    changed = bool(to_add or to_remove or replace_thumbprints or tags_to_set or tags_to_remove)
    if changed and not module.check_mode:
        for client_id in to_add:
            add_client_id(client, arn, client_id)
        for client_id in to_remove:
            remove_client_id(client, arn, client_id)
        if replace_thumbprints:
            update_thumbprints(client, arn, thumbprints)
        if tags_to_remove:
            untag_oidc_provider(client, arn, tags_to_remove)
        if tags_to_set:
            tag_oidc_provider(client, arn, tags_to_set)
    after = desired_provider(arn, url, current, client_ids, params["purge_client_ids"], thumbprints, tags, params["purge_tags"])
    return changed, arn, after


def run(module):
    params = module.params
    try:
        url = resolve_url(module)
        normalize_issuer_url(url)
    except ValueError as e:
        module.fail_json(msg=str(e))
    client = module.client("iam")
    arn = find_provider_arn(list_oidc_provider_arns(client), url)
    current = describe_provider(arn, get_oidc_provider(client, arn)) if arn else {}
    if arn and not current:
        arn = None  # deleted between the list and the get

    if params["state"] == "absent":
        changed = bool(arn)
        if changed and not module.check_mode:
            delete_oidc_provider(client, arn)
        after = {}
        result = {"changed": changed, "arn": ""}
    else:
        changed, arn, after = ensure_present(module, client, url, arn, current)
        result = dict(after, changed=changed)

    result["issuer"] = "https://" + normalize_issuer_url(url)
    result["url"] = normalize_issuer_url(url)
    if module._diff:
        result["diff"] = {"before": current, "after": after}
    return result


def main():
    argument_spec = dict(
        url=dict(type="str"),
        eks_cluster=dict(type="str"),
        client_ids=dict(type="list", elements="str", default=list(DEFAULT_CLIENT_IDS)),
        purge_client_ids=dict(type="bool", default=True),
        thumbprints=dict(type="list", elements="str"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("url", "eks_cluster")],
        required_one_of=[("url", "eks_cluster")],
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except (AnsibleIAMError, AnsibleEKSError) as e:
        module.fail_json_aws_error(e)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
