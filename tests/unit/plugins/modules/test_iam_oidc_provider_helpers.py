"""iam_oidc_provider: which issuer an EKS cluster gives, and the sentence when it gives none."""

import pytest

from ansible_collections.eks_ha.resilience.plugins.modules.iam_oidc_provider import cluster_issuer

ISSUER = "https://oidc.eks.us-west-2.amazonaws.com/id/ABCDEF"


def test_cluster_issuer_reads_identity_oidc_issuer():
    assert cluster_issuer({"identity": {"oidc": {"issuer": ISSUER}}}, "c") == ISSUER


@pytest.mark.parametrize("cluster, message", [
    (None, "EKS cluster 'c' does not exist in this region"),
    ({}, "EKS cluster 'c' reports no OIDC issuer yet"),
    ({"identity": None}, "EKS cluster 'c' reports no OIDC issuer yet"),
    ({"identity": {"oidc": {"issuer": ""}}}, "EKS cluster 'c' reports no OIDC issuer yet"),
])
def test_cluster_issuer_explains_a_missing_issuer(cluster, message):
    with pytest.raises(ValueError, match=message):
        cluster_issuer(cluster, "c")
