"""diff_objects ignores what the server changes on its own: resourceVersion, generation, managedFields, status."""

import copy

import pytest

from ansible_collections.eks_ha.resilience.plugins.module_utils.k8s import comparable
from ansible_collections.eks_ha.resilience.plugins.module_utils.k8s import diff_objects
from ansible_collections.eks_ha.resilience.plugins.module_utils.k8s import merge_preview

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "karpenter", "namespace": "karpenter", "resourceVersion": "41", "generation": 3,
                 "managedFields": [{"manager": "helm"}], "labels": {"app.kubernetes.io/name": "karpenter"}},
    "spec": {"replicas": 0, "template": {"spec": {"containers": [{"name": "controller", "image": "karpenter:1.0"}]}}},
    "status": {"observedGeneration": 3, "replicas": 0},
}


def changed(**changes):
    obj = copy.deepcopy(DEPLOYMENT)
    for path, value in changes.items():
        target = obj
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return obj


@pytest.mark.parametrize("after", [
    changed(metadata__resourceVersion="42"),
    changed(metadata__generation=4),
    changed(metadata__managedFields=[{"manager": "kubectl"}]),
    changed(status__replicas=2, status__readyReplicas=2),
    changed(metadata__resourceVersion="42", metadata__generation=4, status__observedGeneration=4),
])
def test_server_side_changes_are_no_change(after):
    assert diff_objects(DEPLOYMENT, after) == (False, {})


def test_spec_change_shows_only_the_difference():
    is_changed, diff = diff_objects(DEPLOYMENT, changed(spec__replicas=2, metadata__resourceVersion="42"))
    assert is_changed
    assert diff == {"before": {"spec": {"replicas": 0}}, "after": {"spec": {"replicas": 2}}}


def test_label_change_is_a_change():
    is_changed, diff = diff_objects(DEPLOYMENT, changed(metadata__labels={"app.kubernetes.io/name": "other"}))
    assert is_changed
    assert diff["after"] == {"metadata": {"labels": {"app.kubernetes.io/name": "other"}}}


def test_created_object_is_a_change():
    is_changed, diff = diff_objects(None, DEPLOYMENT)
    assert is_changed
    assert diff["before"] == {}
    assert "status" not in diff["after"] and "resourceVersion" not in diff["after"]["metadata"]


def test_deleted_object_is_a_change():
    assert diff_objects(DEPLOYMENT, None)[0]


def test_comparable_leaves_the_input_alone():
    original = copy.deepcopy(DEPLOYMENT)
    comparable(DEPLOYMENT)
    assert DEPLOYMENT == original


def test_merge_preview_merges_maps_replaces_lists_and_removes_nulls():
    patch = {"metadata": {"labels": {"tier": "system"}}, "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "x"}]}}},
             "status": None}
    merged = merge_preview(DEPLOYMENT, patch)
    assert merged["metadata"]["labels"] == {"app.kubernetes.io/name": "karpenter", "tier": "system"}
    assert merged["spec"]["replicas"] == 2
    assert merged["spec"]["template"]["spec"]["containers"] == [{"name": "x"}]
    assert "status" not in merged
    assert DEPLOYMENT["spec"]["replicas"] == 0


def test_merge_preview_of_the_same_values_is_no_change():
    assert diff_objects(DEPLOYMENT, merge_preview(DEPLOYMENT, {"spec": {"replicas": 0}})) == (False, {})
