"""module_utils.iam: how a provider URL is normalized and named, and what changes a provider needs."""

import pytest

from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import arn_url
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import describe_provider
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import desired_provider
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import find_provider_arn
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import normalize_issuer_url
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import plan_client_ids
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import plan_tags
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import provider_arn
from ansible_collections.eks_ha.resilience.plugins.module_utils.iam import thumbprints_differ

ISSUER = "https://oidc.eks.us-west-2.amazonaws.com/id/ABCDEF"
STORED = "oidc.eks.us-west-2.amazonaws.com/id/ABCDEF"
ARN = "arn:aws:iam::123456789012:oidc-provider/" + STORED


@pytest.mark.parametrize("url", [
    ISSUER,
    ISSUER + "/",
    "HTTPS://OIDC.EKS.us-west-2.amazonaws.com/id/ABCDEF",
    STORED,
    "  " + ISSUER + "  ",
])
def test_normalize_issuer_url_gives_what_iam_stores(url):
    assert normalize_issuer_url(url) == STORED


def test_normalize_keeps_the_case_of_the_path():
    assert normalize_issuer_url("https://Host.example.com/ID/AbC") == "host.example.com/ID/AbC"


@pytest.mark.parametrize("url", ["http://oidc.example.com/id/x", "https://", "", None, "ftp://x/y"])
def test_normalize_refuses_what_is_not_an_https_url(url):
    with pytest.raises(ValueError, match="url must be an https:// issuer URL"):
        normalize_issuer_url(url)


def test_provider_arn_names_the_stored_url():
    assert provider_arn("aws", "123456789012", ISSUER) == ARN
    assert provider_arn("aws-us-gov", "1", ISSUER).startswith("arn:aws-us-gov:iam::1:oidc-provider/oidc.eks")


@pytest.mark.parametrize("arn, url", [
    (ARN, STORED),
    ("arn:aws:iam::123456789012:role/x", None),
    ("", None),
    (None, None),
])
def test_arn_url(arn, url):
    assert arn_url(arn) == url


def test_find_provider_arn_matches_the_url_whatever_its_spelling():
    other = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    assert find_provider_arn([other, ARN], ISSUER + "/") == ARN
    assert find_provider_arn([other], ISSUER) is None
    assert find_provider_arn([], ISSUER) is None


@pytest.mark.parametrize("current, desired, purge, expected", [
    (["sts.amazonaws.com"], ["sts.amazonaws.com"], True, ([], [])),
    ([], ["sts.amazonaws.com"], True, (["sts.amazonaws.com"], [])),
    (["a", "sts.amazonaws.com"], ["sts.amazonaws.com"], True, ([], ["a"])),
    (["a", "sts.amazonaws.com"], ["sts.amazonaws.com"], False, ([], [])),
    (["a"], ["b", "b"], True, (["b"], ["a"])),
])
def test_plan_client_ids(current, desired, purge, expected):
    assert plan_client_ids(current, desired, purge) == expected


@pytest.mark.parametrize("current, desired, differ", [
    (["AB" * 20], None, False),
    (["AB" * 20], ["ab" * 20], False),
    (["a" * 40, "b" * 40], ["b" * 40, "a" * 40], False),
    ([], ["a" * 40], True),
    (["a" * 40], [], True),
])
def test_thumbprints_differ(current, desired, differ):
    assert thumbprints_differ(current, desired) is differ


def test_plan_tags():
    assert plan_tags({"a": "1"}, None, True) == ({}, [])
    assert plan_tags({"a": "1"}, {"a": "1"}, True) == ({}, [])
    assert plan_tags({"a": "1"}, {"b": "2"}, True) == ({"b": "2"}, ["a"])
    assert plan_tags({"a": "1"}, {"b": "2"}, False) == ({"b": "2"}, [])


def test_describe_provider():
    provider = {"Url": STORED, "ClientIDList": ["sts.amazonaws.com"], "ThumbprintList": [],
                "Tags": [{"Key": "cluster", "Value": "eks-ha-outposts"}]}
    assert describe_provider(ARN, provider) == {
        "arn": ARN, "url": STORED, "client_ids": ["sts.amazonaws.com"], "thumbprints": [],
        "tags": {"cluster": "eks-ha-outposts"},
    }
    assert describe_provider(ARN, None) == {}


def test_desired_provider_of_a_new_provider():
    assert desired_provider(ARN, ISSUER, {}, ["sts.amazonaws.com"], True, None, {"k": "v"}, True) == {
        "arn": ARN, "url": STORED, "client_ids": ["sts.amazonaws.com"], "thumbprints": [], "tags": {"k": "v"},
    }


def test_desired_provider_keeps_what_is_not_managed():
    current = {"arn": ARN, "url": STORED, "client_ids": ["a"], "thumbprints": ["t" * 40], "tags": {"x": "1"}}
    after = desired_provider(ARN, ISSUER, current, ["sts.amazonaws.com"], False, None, None, True)
    assert after["client_ids"] == ["a", "sts.amazonaws.com"]
    assert after["thumbprints"] == ["t" * 40]
    assert after["tags"] == {"x": "1"}
    after = desired_provider(ARN, ISSUER, current, ["sts.amazonaws.com"], True, [], {"y": "2"}, True)
    assert after["client_ids"] == ["sts.amazonaws.com"]
    assert after["thumbprints"] == []
    assert after["tags"] == {"y": "2"}
