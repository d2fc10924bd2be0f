"""EFS host aliases for Local Zone nodes: which mount target, which alias, what drifted, who manages the driver."""

import pytest

from ansible_collections.eks_ha.resilience.plugins.module_utils import efs

TARGETS = [
    {"MountTargetId": "fsmt-a", "AvailabilityZoneName": "us-east-1a", "IpAddress": "10.0.1.10", "LifeCycleState": "available"},
    {"MountTargetId": "fsmt-b", "AvailabilityZoneName": "us-east-1b", "IpAddress": "10.0.2.10", "LifeCycleState": "available"},
    {"MountTargetId": "fsmt-c", "AvailabilityZoneName": "us-east-1c", "IpAddress": "10.0.3.10", "LifeCycleState": "creating"},
]
NAME = "fs-0123456789abcdef0.efs.us-east-1.amazonaws.com"


def test_dns_name_and_available_targets():
    assert efs.dns_name("fs-0123456789abcdef0", "us-east-1") == NAME
    assert [t["MountTargetId"] for t in efs.available(TARGETS)] == ["fsmt-a", "fsmt-b"]


@pytest.mark.parametrize(
    "zone, parents, expected, fragment",
    [
        (None, {"us-east-1-bos-1a": "us-east-1a"}, "us-east-1a", "parent AZ of Local Zone us-east-1-bos-1a"),
        ("us-east-1b", {}, "us-east-1b", "availability_zone names us-east-1b"),
        ("us-east-1c", {}, None, "no available mount target in us-east-1c"),
        (None, {"us-east-1-bos-1a": "us-east-1a", "us-east-1-mia-1a": "us-east-1b"}, None, "different parent AZs"),
        (None, {}, None, "No Local Zone was named"),
        (None, {"us-east-1-dfw-1a": "us-east-1c"}, None, "parent AZ us-east-1c has no available mount target"),
    ],
)
def test_choose_zone(zone, parents, expected, fragment):
    chosen, reason, problem = efs.choose_zone(efs.available(TARGETS), zone, parents)
    assert chosen == expected
    assert fragment in (reason if expected else problem)


def test_with_alias_replaces_only_this_name():
    current = [{"ip": "10.0.9.9", "hostnames": [NAME, "other.example"]}, {"ip": "10.0.1.10", "hostnames": ["x"]}]
    assert efs.with_alias(current, NAME, "10.0.1.10") == [
        {"ip": "10.0.9.9", "hostnames": ["other.example"]}, {"ip": "10.0.1.10", "hostnames": ["x", NAME]}]
    assert efs.with_alias([{"ip": "10.0.9.9", "hostnames": [NAME]}], NAME, None) == []
    assert efs.with_alias(None, NAME, "10.0.1.10") == [{"ip": "10.0.1.10", "hostnames": [NAME]}]
    assert efs.alias_of(current, NAME) == "10.0.9.9" and efs.alias_of([], NAME) is None


def test_drift_sentences():
    ips = {"10.0.1.10", "10.0.2.10"}
    assert efs.drift("10.0.1.10", "10.0.1.10", ips, NAME) == []
    assert "no host alias" in efs.drift(None, "10.0.1.10", ips, NAME)[0]
    assert "stale" in efs.drift("10.0.9.9", "10.0.1.10", ips, NAME)[0]
    assert "another AZ" in efs.drift("10.0.2.10", "10.0.1.10", ips, NAME)[0]


def test_chart_values_keep_other_file_systems():
    values = {"node": {"hostAliases": {"fs-11111111": {"ip": "10.1.1.1", "region": "us-west-2"}}}}
    aliases = efs.chart_host_aliases(values, "fs-0123456789abcdef0", "10.0.1.10", "us-east-1")
    assert aliases == {"fs-11111111": {"ip": "10.1.1.1", "region": "us-west-2"},
                       "fs-0123456789abcdef0": {"ip": "10.0.1.10", "region": "us-east-1"}}
    assert efs.chart_host_aliases(values, "fs-11111111", None, "us-west-2") == {}
    assert values["node"]["hostAliases"] == {"fs-11111111": {"ip": "10.1.1.1", "region": "us-west-2"}}  # not mutated


def test_release_of():
    flux = {"metadata": {"labels": {"helm.toolkit.fluxcd.io/name": "aws-efs-csi-driver",
                                    "helm.toolkit.fluxcd.io/namespace": "flux-system",
                                    "app.kubernetes.io/managed-by": "Helm"}}}
    helm = {"metadata": {"namespace": "kube-system", "labels": {"app.kubernetes.io/managed-by": "Helm"},
                         "annotations": {"meta.helm.sh/release-name": "efs", "meta.helm.sh/release-namespace": "kube-system"}}}
    assert efs.release_of(flux) == ("flux", "flux-system", "aws-efs-csi-driver")
    assert efs.release_of(helm) == ("helm", "kube-system", "efs")
    assert efs.release_of({"metadata": {}}) == (None, None, None)


def test_values_from_reference():
    release = {"spec": {"valuesFrom": [{"kind": "ConfigMap", "name": "efs-host-aliases", "valuesKey": "values.yaml"}]}}
    assert efs.references(release, "efs-host-aliases")
    assert not efs.references({"spec": {}}, "efs-host-aliases")
    assert efs.node_zones([{"metadata": {"labels": {efs.ZONE_LABEL: "us-east-1a"}}}, {"metadata": {}}]) == ["us-east-1a"]
