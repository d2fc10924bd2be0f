"""Amazon EFS in the sandbox: mount targets (none in Local Zones), the EFS CSI driver's chart, and pods that mount
an EFS volume only where the driver's node pod resolves the file system's DNS name (the localzone site's cluster)."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

import pytest
from kubernetes import client, config, dynamic
from kubernetes.client.rest import ApiException

from sandbox import Sandbox
from sandbox.kubernetes import charts

from .helpers import ensure, install_flux, wait_for

REGION, CLUSTER = "us-east-1", "eks-ha-localzone"
LOCAL_ZONE, ZONE = "us-east-1-bos-1a", "us-east-1a"
AZ_SUBNET_CIDR = "10.20.2.0/24"
APPS = "efs-apps"
ZONE_LABEL = "topology.kubernetes.io/zone"


# -- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(sandbox: Sandbox) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(sandbox.kubeconfig), context=CLUSTER)


@pytest.fixture(scope="module")
def network(sandbox: Sandbox) -> dict[str, str]:
    """The localzone site's Local Zone subnet, plus a subnet of its VPC in the parent AZ."""
    site = next(s for s in sandbox.status()["sites"] if s["name"] == "localzone")
    subnet = sandbox.client("ec2", REGION).create_subnet(VpcId=site["vpc_id"], CidrBlock=AZ_SUBNET_CIDR,
                                                         AvailabilityZone=ZONE)["Subnet"]
    return {"local_zone_subnet": site["subnet_ids"][0], "zone_subnet": subnet["SubnetId"]}


@pytest.fixture(scope="module")
def file_system(sandbox: Sandbox, network: dict[str, str]) -> dict[str, Any]:
    """A file system with a mount target in the AZ subnet (as CreateMountTarget answered) and an access point."""
    efs = sandbox.client("efs", REGION)
    file_system_id = efs.create_file_system(CreationToken=f"efs-tests-{uuid.uuid4()}")["FileSystemId"]
    mount_target = efs.create_mount_target(FileSystemId=file_system_id, SubnetId=network["zone_subnet"])
    access_point = efs.create_access_point(FileSystemId=file_system_id)["AccessPointId"]
    return {"id": file_system_id, "mount_target": mount_target, "access_point": access_point,
            "dns_name": f"{file_system_id}.efs.{REGION}.amazonaws.com"}


@pytest.fixture(scope="module")
def mount_ip(sandbox: Sandbox, file_system: dict[str, Any]) -> str:
    """The mount target's address, once it is available."""
    efs = sandbox.client("efs", REGION)
    wait_for(lambda: efs.describe_mount_targets(FileSystemId=file_system["id"])["MountTargets"][0]["LifeCycleState"]
             == "available", timeout=10)
    return file_system["mount_target"]["IpAddress"]


@pytest.fixture(scope="module")
def driver(api: client.ApiClient) -> client.ApiClient:
    """The EFS CSI driver, installed in kube-system by a Flux HelmRelease, its node pods Ready on every node."""
    install_flux(api)
    ensure(api, {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
                 "metadata": {"name": "aws-efs-csi-driver"},
                 "spec": {"url": "https://kubernetes-sigs.github.io/aws-efs-csi-driver/"}}, "flux-system")
    chart = {"chart": "aws-efs-csi-driver", "version": "4.4.1",
             "sourceRef": {"kind": "HelmRepository", "name": "aws-efs-csi-driver"}}
    spec = {"targetNamespace": "kube-system", "releaseName": "aws-efs-csi-driver", "chart": {"spec": chart},
            "values": {"controller": {"replicaCount": 1}}}
    ensure(api, {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                 "metadata": {"name": "aws-efs-csi-driver"}, "spec": spec}, "flux-system")
    wait_for(lambda: rolled_out(api), timeout=20)
    return api


@pytest.fixture(scope="module")
def region_node(sandbox: Sandbox, api: client.ApiClient, network: dict[str, str]) -> str:
    """A managed node group of one node in the AZ subnet, next to the cluster's Local Zone nodes."""
    sandbox.client("eks", REGION).create_nodegroup(
        clusterName=CLUSTER, nodegroupName="efs-zone-workers", subnets=[network["zone_subnet"]],
        instanceTypes=["t3.xlarge"], nodeRole="arn:aws:iam::123456789012:role/eks-ha-sandbox-node-role",
        scalingConfig={"minSize": 1, "maxSize": 1, "desiredSize": 1})
    nodes = client.CoreV1Api(api).list_node(label_selector="eks.amazonaws.com/nodegroup=efs-zone-workers").items
    assert [n.metadata.labels[ZONE_LABEL] for n in nodes] == [ZONE]
    return nodes[0].metadata.name


# -- helpers -----------------------------------------------------------------------------------------


def rolled_out(api: client.ApiClient) -> bool:
    """Whether DaemonSet kube-system/efs-csi-node runs its current template, available on every node."""
    try:
        found = client.AppsV1Api(api).read_namespaced_daemon_set("efs-csi-node", "kube-system")
    except ApiException as error:
        if error.status != 404:
            raise
        return False
    status, nodes = found.status, len(client.CoreV1Api(api).list_node().items)
    return bool(status and status.desired_number_scheduled == nodes
                and (status.observed_generation or 0) >= found.metadata.generation
                and status.updated_number_scheduled == status.desired_number_scheduled
                and status.number_available == status.desired_number_scheduled)


def host_aliases(api: client.ApiClient) -> list[dict[str, Any]]:
    found = client.AppsV1Api(api).read_namespaced_daemon_set("efs-csi-node", "kube-system")
    return [api.sanitize_for_serialization(a) for a in found.spec.template.spec.host_aliases or []]


def patch_host_aliases(api: client.ApiClient, aliases: list[dict[str, Any]] | None) -> None:
    """Replace the node pods' host aliases, as ``kubectl patch --type merge`` does."""
    api.call_api(
        "/apis/apps/v1/namespaces/kube-system/daemonsets/efs-csi-node", "PATCH",
        header_params={"Content-Type": "application/merge-patch+json"}, auth_settings=["BearerToken"],
        body={"spec": {"template": {"spec": {"hostAliases": aliases}}}})


def efs_claim(api: client.ApiClient, name: str, volume_handle: str) -> None:
    """A PersistentVolume of the EFS CSI driver (static provisioning) and a claim for it in ``APPS``."""
    core = client.CoreV1Api(api)
    ensure(api, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": APPS}})
    core.create_persistent_volume({"metadata": {"name": name}, "spec": {
        "capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteMany"], "persistentVolumeReclaimPolicy": "Retain",
        "storageClassName": "efs-sc", "csi": {"driver": "efs.csi.aws.com", "volumeHandle": volume_handle}}})
    core.create_namespaced_persistent_volume_claim(APPS, {"metadata": {"name": name}, "spec": {
        "accessModes": ["ReadWriteMany"], "storageClassName": "efs-sc", "resources": {"requests": {"storage": "5Gi"}}}})


def efs_pod(api: client.ApiClient, name: str, claim: str, zone: str) -> None:
    client.CoreV1Api(api).create_namespaced_pod(APPS, {"metadata": {"name": name}, "spec": {
        "nodeSelector": {ZONE_LABEL: zone},
        "containers": [{"name": "app", "image": "nginx:1.27",
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]}})


def running(api: client.ApiClient, pod: str) -> bool:
    status = client.CoreV1Api(api).read_namespaced_pod(pod, APPS).status
    return status.phase == "Running" and any(c.type == "Ready" and c.status == "True" for c in status.conditions or [])


def waiting_reason(api: client.ApiClient, pod: str) -> str | None:
    status = client.CoreV1Api(api).read_namespaced_pod(pod, APPS).status
    states = [c.state.waiting for c in status.container_statuses or [] if c.state and c.state.waiting]
    return states[0].reason if status.phase == "Pending" and states else None


def failed_mount(api: client.ApiClient, pod: str, text: str) -> str | None:
    """The message of a FailedMount Event on ``pod`` that contains ``text``."""
    events = client.CoreV1Api(api).list_namespaced_event(
        APPS, field_selector=f"involvedObject.name={pod},reason=FailedMount").items
    return next((e.message for e in events if text in e.message and e.type == "Warning"), None)


# -- EFS API -----------------------------------------------------------------------------------------


def test_mount_targets_are_refused_in_a_local_zone(sandbox: Sandbox, network: dict[str, str],
                                                   file_system: dict[str, Any]) -> None:
    efs = sandbox.client("efs", REGION)
    with pytest.raises(efs.exceptions.UnsupportedAvailabilityZone) as error:
        efs.create_mount_target(FileSystemId=file_system["id"], SubnetId=network["local_zone_subnet"])
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert LOCAL_ZONE in error.value.response["Error"]["Message"]
    with pytest.raises(efs.exceptions.UnsupportedAvailabilityZone):
        efs.create_file_system(CreationToken=f"one-zone-{uuid.uuid4()}", AvailabilityZoneName=LOCAL_ZONE)
    with pytest.raises(efs.exceptions.SubnetNotFound):
        efs.create_mount_target(FileSystemId=file_system["id"], SubnetId="subnet-0123456789abcdef0")
    mount_targets = efs.describe_mount_targets(FileSystemId=file_system["id"])["MountTargets"]
    assert [m["AvailabilityZoneName"] for m in mount_targets] == [ZONE]


def test_mount_targets_get_an_address_and_become_available(sandbox: Sandbox, file_system: dict[str, Any]) -> None:
    created, efs = file_system["mount_target"], sandbox.client("efs", REGION)
    assert created["LifeCycleState"] == "creating"
    assert ipaddress.ip_address(created["IpAddress"]) in ipaddress.ip_network(AZ_SUBNET_CIDR)
    (zone,) = sandbox.client("ec2", REGION).describe_availability_zones(ZoneNames=[ZONE])["AvailabilityZones"]
    assert (created["AvailabilityZoneName"], created["AvailabilityZoneId"]) == (ZONE, zone["ZoneId"])

    described = wait_for(lambda: (lambda m: m["LifeCycleState"] == "available" and m)(
        efs.describe_mount_targets(MountTargetId=created["MountTargetId"])["MountTargets"][0]), timeout=10)
    assert described["IpAddress"] == created["IpAddress"]
    by_access_point = efs.describe_mount_targets(AccessPointId=file_system["access_point"])["MountTargets"]
    assert [m["MountTargetId"] for m in by_access_point] == [created["MountTargetId"]]
    with pytest.raises(efs.exceptions.AccessPointNotFound):
        efs.describe_mount_targets(AccessPointId="fsap-0123456789abcdef0")

    reported = next(f for f in sandbox.status()["efs"] if f["file_system_id"] == file_system["id"])
    assert reported == {"file_system_id": file_system["id"], "region": REGION, "dns_name": file_system["dns_name"],
                        "mount_targets": [{"id": created["MountTargetId"], "zone": ZONE, "ip": created["IpAddress"]}]}


# -- the EFS CSI driver ------------------------------------------------------------------------------


def test_the_chart_renders_the_node_pods_host_aliases_from_values(driver: client.ApiClient) -> None:
    values = {"node": {"hostAliases": {"fs-0b0b0b0b": {"ip": "10.20.2.9", "region": REGION},
                                       "fs-0a0a0a0a": {"ip": "10.30.1.7", "region": "us-west-2"}},
                       "nodeSelector": {"workload": "storage"},
                       "tolerations": [{"key": "dedicated", "operator": "Exists"}]},
              "controller": {"replicaCount": 3}}
    rendered = {o["kind"]: o for o in charts.render("aws-efs-csi-driver", "4.4.1", "efs", "storage", values)}
    pod_spec = rendered["DaemonSet"]["spec"]["template"]["spec"]
    assert pod_spec["hostAliases"] == [{"ip": "10.30.1.7", "hostnames": ["fs-0a0a0a0a.efs.us-west-2.amazonaws.com"]},
                                       {"ip": "10.20.2.9", "hostnames": ["fs-0b0b0b0b.efs.us-east-1.amazonaws.com"]}]
    assert pod_spec["nodeSelector"] == {"kubernetes.io/os": "linux", "workload": "storage"}
    assert pod_spec["tolerations"] == [{"key": "dedicated", "operator": "Exists"}]
    assert rendered["DaemonSet"]["metadata"]["namespace"] == "storage"
    assert rendered["Deployment"]["spec"]["replicas"] == 3

    apps = client.AppsV1Api(driver)
    daemonset = apps.read_namespaced_daemon_set("efs-csi-node", "kube-system")
    assert daemonset.metadata.labels["helm.toolkit.fluxcd.io/name"] == "aws-efs-csi-driver"
    assert daemonset.spec.template.spec.host_aliases is None
    assert daemonset.spec.template.spec.service_account_name == "efs-csi-node-sa"
    assert apps.read_namespaced_deployment("efs-csi-controller", "kube-system").spec.replicas == 1
    assert {a.metadata.name for a in client.CoreV1Api(driver).list_namespaced_service_account("kube-system").items} >= {
        "efs-csi-controller-sa", "efs-csi-node-sa"}
    assert client.StorageV1Api(driver).read_csi_driver("efs.csi.aws.com").spec.attach_required is False


def test_a_region_node_mounts_the_file_system_without_an_alias(driver: client.ApiClient, region_node: str,
                                                                file_system: dict[str, Any], mount_ip: str) -> None:
    wait_for(lambda: rolled_out(driver))  # the new node runs a node pod too
    efs_claim(driver, "efs-zone", file_system["id"])
    efs_pod(driver, "zone-app", "efs-zone", ZONE)
    wait_for(lambda: running(driver, "zone-app"))
    core = client.CoreV1Api(driver)
    assert core.read_namespaced_pod("zone-app", APPS).spec.node_name == region_node
    claim = core.read_namespaced_persistent_volume_claim("efs-zone", APPS)
    volume = core.read_persistent_volume("efs-zone")
    assert (claim.status.phase, claim.spec.volume_name, volume.status.phase) == ("Bound", "efs-zone", "Bound")
    assert volume.spec.claim_ref.name == "efs-zone" and volume.spec.claim_ref.uid == claim.metadata.uid


def test_a_helm_release_carries_the_alias_local_zone_pods_need(driver: client.ApiClient, file_system: dict[str, Any],
                                                               mount_ip: str) -> None:
    efs_claim(driver, "efs-lz", f"{file_system['id']}::{file_system['access_point']}")
    efs_pod(driver, "lz-app", "efs-lz", LOCAL_ZONE)
    message = wait_for(lambda: failed_mount(driver, "lz-app", f'Failed to resolve "{file_system["dns_name"]}"'))
    assert message.startswith('MountVolume.SetUp failed for volume "efs-lz" : rpc error: code = Internal desc = '
                              f'Could not mount "{file_system["id"]}:/" at "/var/lib/kubelet/pods/')
    assert f"-o accesspoint={file_system['access_point']},tls" in message
    assert f"No matching mount target in the az {LOCAL_ZONE}" in message and f"['{ZONE}']" in message
    assert waiting_reason(driver, "lz-app") == "ContainerCreating"

    release = dynamic.DynamicClient(driver).resources.get(api_version="helm.toolkit.fluxcd.io/v2", kind="HelmRelease")
    alias = {file_system["id"]: {"ip": mount_ip, "region": REGION}}
    release.patch(name="aws-efs-csi-driver", namespace="flux-system", content_type="application/merge-patch+json",
                  body={"spec": {"values": {"node": {"hostAliases": alias}}}})
    wait_for(lambda: host_aliases(driver) == [{"ip": mount_ip, "hostnames": [file_system["dns_name"]]}])
    wait_for(lambda: rolled_out(driver))
    wait_for(lambda: running(driver, "lz-app"))


def test_a_local_zone_pod_waits_until_the_node_pods_resolve_the_file_system(driver: client.ApiClient,
                                                                            file_system: dict[str, Any],
                                                                            mount_ip: str) -> None:
    patch_host_aliases(driver, None)
    wait_for(lambda: not host_aliases(driver) and rolled_out(driver))
    efs_pod(driver, "lz-direct", "efs-lz", LOCAL_ZONE)
    wait_for(lambda: failed_mount(driver, "lz-direct", f'Failed to resolve "{file_system["dns_name"]}"'))

    wrong = str(ipaddress.ip_address(mount_ip) + 1)
    patch_host_aliases(driver, [{"ip": wrong, "hostnames": [file_system["dns_name"]]}])
    wait_for(lambda: rolled_out(driver))
    assert "exit status 32" in wait_for(lambda: failed_mount(driver, "lz-direct", "mount.nfs4: Connection timed out"))
    assert waiting_reason(driver, "lz-direct") == "ContainerCreating"

    patch_host_aliases(driver, [{"ip": mount_ip, "hostnames": [file_system["dns_name"]]}])
    wait_for(lambda: rolled_out(driver))
    wait_for(lambda: running(driver, "lz-direct"))
    status = client.AppsV1Api(driver).read_namespaced_daemon_set("efs-csi-node", "kube-system").status
    nodes = client.CoreV1Api(driver).list_node().items
    assert status.updated_number_scheduled == status.number_ready == status.desired_number_scheduled == len(nodes)
    revisions = {p.metadata.labels["controller-revision-hash"] for p in client.CoreV1Api(driver).list_namespaced_pod(
        "kube-system", label_selector="app=efs-csi-node").items}
    assert len(revisions) == 1  # every node pod runs the last template
