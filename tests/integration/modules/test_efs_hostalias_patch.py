"""efs_hostalias_patch run by Ansible against the sandbox: EFS in moto, the Local Zone cluster of outpost-lz.

The cluster ``eks-ha-localzone`` has its nodes in the Boston Local Zone (us-east-1-bos-1a), whose parent AZ is
us-east-1a. The tests give its VPC two Region subnets with one mount target each, run the EFS CSI driver's node
DaemonSet, and a pod that mounts the file system: on a Local Zone node it starts only once the driver resolves the
file system's name to a mount target. The tests run in file order and share one sandbox.
"""

from __future__ import annotations

import time

import pytest
from kubernetes import client

from ..conftest import kubernetes_api
from .plays import REPO, task

pytestmark = pytest.mark.integration

INVENTORY = REPO / "tests" / "sandbox" / "inventory"
# Its clusters' node groups, as deploy.yml makes them (the seed makes control planes only).
NODE_GROUPS = True
CLUSTER, REGION, VPC = "eks-ha-localzone", "us-east-1", "eks-ha-localzone"
NAMESPACE = "kube-system"


@pytest.fixture(scope="module")
def api(sandbox):
    return kubernetes_api(sandbox, CLUSTER)


@pytest.fixture(scope="module")
def file_system(sandbox):
    """A file system with mount targets in us-east-1a and us-east-1b; {zone: ip} and its id."""
    ec2, efs = sandbox.client("ec2", REGION), sandbox.client("efs", REGION)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [VPC]}])["Vpcs"][0]["VpcId"]
    file_system_id = efs.create_file_system(CreationToken="eks-ha-efs-test")["FileSystemId"]
    ips = {}
    for index, zone in enumerate(("us-east-1a", "us-east-1b"), start=8):
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{index}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
        ips[zone] = efs.create_mount_target(FileSystemId=file_system_id, SubnetId=subnet)["IpAddress"]
    deadline = time.monotonic() + 30
    while any(t["LifeCycleState"] != "available" for t in efs.describe_mount_targets(FileSystemId=file_system_id)["MountTargets"]):
        assert time.monotonic() < deadline, "mount targets did not become available"
        time.sleep(0.2)
    return {"id": file_system_id, "ips": ips, "name": f"{file_system_id}.efs.{REGION}.amazonaws.com"}


@pytest.fixture(scope="module")
def driver(api):
    """The EFS CSI driver's node DaemonSet, installed without Helm."""
    labels = {"app": "efs-csi-node"}
    body = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "efs-csi-node", "namespace": NAMESPACE},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": "efs-plugin", "image": "public.ecr.aws/efs-csi-driver/amazon/aws-efs-csi-driver:v2.1.0"}]}}}}
    client.AppsV1Api(api).create_namespaced_daemon_set(NAMESPACE, body)
    return body


@pytest.fixture(scope="module")
def workload(api, file_system, driver):
    """A pod on a Local Zone node mounting the file system through a static PV and its claim."""
    core = client.CoreV1Api(api)
    core.create_persistent_volume({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "efs-test"},
                                   "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteMany"],
                                            "storageClassName": "efs-sc", "persistentVolumeReclaimPolicy": "Retain",
                                            "csi": {"driver": "efs.csi.aws.com", "volumeHandle": file_system["id"]}}})
    core.create_namespaced_persistent_volume_claim("default", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "efs-test"},
        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "efs-sc", "volumeName": "efs-test",
                 "resources": {"requests": {"storage": "5Gi"}}}})
    core.create_namespaced_pod("default", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "efs-reader"},
        "spec": {"containers": [{"name": "reader", "image": "busybox", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                 "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "efs-test"}}]}})
    return "efs-reader"


def connection():
    return {"region": REGION, "eks_cluster": CLUSTER}


def patch_alias(file_system, check=False, diff=False, **extra):
    return task("efs_hostalias_patch", dict({"file_system_id": file_system["id"], **connection()}, **extra),
                check=check, diff=diff)


def aliases(api):
    daemonset = client.AppsV1Api(api).read_namespaced_daemon_set("efs-csi-node", NAMESPACE)
    return [(a.ip, a.hostnames) for a in daemonset.spec.template.spec.host_aliases or []]


def pod_phase(api, name):
    return client.CoreV1Api(api).read_namespaced_pod(name, "default").status.phase


def wait_phase(api, name, phase, timeout=30):
    deadline = time.monotonic() + timeout
    while pod_phase(api, name) != phase:
        assert time.monotonic() < deadline, f"pod {name} did not become {phase}"
        time.sleep(0.2)


# -- tests ----------------------------------------------------------------------------------------


def test_bad_input_fails_with_one_sentence(run, file_system, driver):
    cases = [
        ({"file_system_id": "fs-nope"}, "file_system_id must look like fs-"),
        ({"file_system_id": "fs-00000000000000000"}, "was not found in us-east-1"),
        ({"daemonset": "missing"}, "DaemonSet kube-system/missing was not found"),
        ({"availability_zone": "us-east-1c"}, "no available mount target in us-east-1c"),
        ({"local_zone": "us-east-1a"}, "is not a Local Zone"),
        ({"availability_zone": "us-east-1a", "local_zone": "us-east-1-bos-1a"}, "mutually exclusive"),
    ]
    play = run.parallel("efs_hostalias_patch", [dict({"file_system_id": file_system["id"], **connection()}, **args)
                                                 for args, _ in cases])
    for (args, sentence), result in zip(cases, play.results):
        assert result.get("failed") and sentence in result["msg"], (args, result.get("msg"))


def test_file_system_without_mount_targets_is_refused(run, sandbox, driver):
    bare = sandbox.client("efs", REGION).create_file_system(CreationToken="eks-ha-efs-bare")["FileSystemId"]
    result = run(task("efs_hostalias_patch", {"file_system_id": bare, **connection()}))[0]
    assert result["failed"] and "has no available mount target" in result["msg"]


def test_check_mode_reports_the_plan_and_the_drift(run, api, file_system, workload):
    wait_phase(api, workload, "Pending")  # the Local Zone node cannot resolve the file system yet
    result = run(patch_alias(file_system, check=True, diff=True))[0]
    assert result["changed"] and result["mode"] == "daemonset"
    assert (result["availability_zone"], result["ip_address"]) == ("us-east-1a", file_system["ips"]["us-east-1a"])
    assert "parent AZ of Local Zone us-east-1-bos-1a" in result["chosen_because"]
    assert result["drift"] == [f"{file_system['name']} has no host alias yet."]
    assert result["diff"]["after"]["hostAliases"] == [{"ip": file_system["ips"]["us-east-1a"], "hostnames": [file_system["name"]]}]
    assert aliases(api) == []


def test_patch_rolls_out_and_the_pod_mounts(run, api, file_system, workload):
    result = run(patch_alias(file_system))[0]
    assert result["changed"] and not result.get("failed"), result
    assert aliases(api) == [(file_system["ips"]["us-east-1a"], [file_system["name"]])]
    wait_phase(api, workload, "Running")
    again = run(patch_alias(file_system))[0]
    assert not again["changed"] and again["drift"] == []


def test_stale_alias_is_reported_then_repaired(run, api, file_system):
    # A merge patch replaces the list (a strategic one would add an entry beside the right one).
    api.call_api(f"/apis/apps/v1/namespaces/{NAMESPACE}/daemonsets/efs-csi-node", "PATCH",
                 header_params={"Content-Type": "application/merge-patch+json", "Accept": "application/json"},
                 body={"spec": {"template": {"spec": {"hostAliases": [{"ip": "10.20.99.99", "hostnames": [file_system["name"]]}]}}}},
                 auth_settings=["BearerToken"], response_type="object")
    planned = run(patch_alias(file_system, check=True))[0]
    assert planned["changed"] and "no longer a mount target" in planned["drift"][0]
    fixed = run(patch_alias(file_system))[0]
    assert fixed["changed"] and aliases(api) == [(file_system["ips"]["us-east-1a"], [file_system["name"]])]


def test_named_availability_zone(run, api, file_system):
    moved = run(patch_alias(file_system, availability_zone="us-east-1b"))[0]
    assert moved["changed"] and moved["ip_address"] == file_system["ips"]["us-east-1b"]
    assert moved["chosen_because"] == "availability_zone names us-east-1b"
    back = run(patch_alias(file_system))[0]
    assert back["changed"] and "another AZ" in back["drift"][0]


def test_plain_helm_release_is_refused_unless_forced(run, api, file_system):
    apps = client.AppsV1Api(api)
    apps.patch_namespaced_daemon_set("efs-csi-node", NAMESPACE, {"metadata": {
        "labels": {"app.kubernetes.io/managed-by": "Helm"},
        "annotations": {"meta.helm.sh/release-name": "aws-efs-csi-driver", "meta.helm.sh/release-namespace": NAMESPACE}}})
    refused = run(patch_alias(file_system, availability_zone="us-east-1b"))[0]
    assert refused["failed"] and "belongs to Helm release kube-system/aws-efs-csi-driver" in refused["msg"]
    forced = run(patch_alias(file_system, availability_zone="us-east-1b", mode="daemonset"))[0]
    assert forced["changed"] and aliases(api) == [(file_system["ips"]["us-east-1b"], [file_system["name"]])]


def test_flux_helm_release_gets_the_alias_in_its_values(run, api, file_system):
    """Flux manages the driver: the alias goes to a ConfigMap the HelmRelease takes values from, not the DaemonSet."""
    extensions = client.ApiextensionsV1Api(api)
    extensions.create_custom_resource_definition({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "helmreleases.helm.toolkit.fluxcd.io"},
        "spec": {"group": "helm.toolkit.fluxcd.io", "scope": "Namespaced",
                 "names": {"kind": "HelmRelease", "plural": "helmreleases", "singular": "helmrelease"},
                 "versions": [{"name": "v2", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}})
    custom = client.CustomObjectsApi(api)
    time.sleep(0.5)
    custom.create_namespaced_custom_object("helm.toolkit.fluxcd.io", "v2", NAMESPACE, "helmreleases", {
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "aws-efs-csi-driver", "namespace": NAMESPACE},
        "spec": {"chart": {"spec": {"chart": "aws-efs-csi-driver", "sourceRef": {"kind": "HelmRepository", "name": "efs"}}}}})
    client.AppsV1Api(api).patch_namespaced_daemon_set("efs-csi-node", NAMESPACE, {"metadata": {"labels": {
        "helm.toolkit.fluxcd.io/name": "aws-efs-csi-driver", "helm.toolkit.fluxcd.io/namespace": NAMESPACE}}})
    planned = run(patch_alias(file_system, check=True, diff=True))[0]
    assert planned["changed"] and planned["mode"] == "helm_release"
    assert planned["helm_release"] == {"namespace": NAMESPACE, "name": "aws-efs-csi-driver"}
    written = run(patch_alias(file_system, wait=False))[0]
    assert written["changed"] and any("add valuesFrom" in w for w in written.get("warnings", []))
    config_map = client.CoreV1Api(api).read_namespaced_config_map("aws-efs-csi-driver-host-aliases", NAMESPACE)
    assert f"{file_system['id']}:" in config_map.data["values.yaml"]
    assert file_system["ips"]["us-east-1a"] in config_map.data["values.yaml"]
    release = custom.get_namespaced_custom_object("helm.toolkit.fluxcd.io", "v2", NAMESPACE, "helmreleases", "aws-efs-csi-driver")
    assert {"kind": "ConfigMap", "name": "aws-efs-csi-driver-host-aliases", "valuesKey": "values.yaml"} in release["spec"]["valuesFrom"]
    # The DaemonSet was not patched behind the release's back.
    assert aliases(api) == [(file_system["ips"]["us-east-1b"], [file_system["name"]])]
    again = run(patch_alias(file_system, wait=False))[0]
    assert not again["changed"]


def test_absent_removes_the_alias(run, api, file_system):
    client.AppsV1Api(api).patch_namespaced_daemon_set("efs-csi-node", NAMESPACE, {"metadata": {"labels": {
        "helm.toolkit.fluxcd.io/name": None, "helm.toolkit.fluxcd.io/namespace": None,
        "app.kubernetes.io/managed-by": None}}})
    removed = run(patch_alias(file_system, state="absent"))[0]
    assert removed["changed"] and aliases(api) == []
    assert not run(patch_alias(file_system, state="absent"))[0]["changed"]
