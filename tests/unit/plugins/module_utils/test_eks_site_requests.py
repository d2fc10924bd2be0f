"""EKS decisions of eks_site: cluster and node group requests, what differs, and the bootstrap user data."""

import shlex

from ansible_collections.eks_ha.resilience.plugins.module_utils import autoscaling
from ansible_collections.eks_ha.resilience.plugins.module_utils import eks

ROLE = "arn:aws:iam::123456789012:role/cluster"
OUTPOST = {"outpost_arns": ["arn:aws:outposts:us-west-2:123456789012:outpost/op-1"],
           "control_plane_instance_type": "m5.large"}


def test_cluster_request_in_the_region_and_on_an_outpost():
    request = eks.cluster_request("shop", "1.31", ROLE, ["subnet-a"], None, None)
    assert request == {"name": "shop", "roleArn": ROLE, "version": "1.31", "resourcesVpcConfig": {
        "subnetIds": ["subnet-a"], "securityGroupIds": [], "endpointPublicAccess": True, "endpointPrivateAccess": False}}
    local = eks.cluster_request("plant", None, ROLE, ["subnet-op"], False, True, outpost=OUTPOST, tags={"a": "b"})
    assert local["outpostConfig"] == {"outpostArns": OUTPOST["outpost_arns"], "controlPlaneInstanceType": "m5.large"}
    assert "version" not in local and local["tags"] == {"a": "b"}


def described_cluster(**changes):
    cluster = {"name": "shop", "version": "1.30", "roleArn": ROLE, "resourcesVpcConfig": {
        "subnetIds": ["subnet-b", "subnet-a"], "securityGroupIds": [], "endpointPublicAccess": True,
        "endpointPrivateAccess": False, "vpcId": "vpc-1", "clusterSecurityGroupId": "sg-c"}}
    cluster.update(changes)
    return cluster


def test_only_settings_asked_for_are_compared():
    asked = {"version": "1.31", "roleArn": ROLE, "resourcesVpcConfig": {
        "subnetIds": ["subnet-a", "subnet-b"], "endpointPublicAccess": None, "endpointPrivateAccess": True}}
    assert eks.cluster_differences(described_cluster(), asked) == [
        ("version", "1.30", "1.31"), ("endpoint_private_access", False, True)]
    assert eks.cluster_differences(described_cluster(), {"resourcesVpcConfig": {"subnetIds": []}}) == []


def test_a_cluster_of_another_placement_is_not_adopted():
    local = described_cluster(outpostConfig={"outpostArns": OUTPOST["outpost_arns"]})
    assert "is a local cluster on AWS Outposts" in eks.kind_mismatch(local, {}, "shop")
    in_region = eks.kind_mismatch(described_cluster(), {"outpostConfig": True}, "shop")
    assert "has its control plane in the Region" in in_region
    assert eks.kind_mismatch(local, {"outpostConfig": True}, "shop") is None
    assert eks.kind_mismatch(described_cluster(), {}, "shop") is None


def test_taints_in_both_spellings():
    taints = [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}]
    assert eks.eks_taints(taints) == [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}]
    assert eks.kubernetes_taints(eks.eks_taints(taints)) == taints


def nodegroup_request(**changes):
    arguments = dict(labels={"role": "control"},
                     taints=[{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}],
                     sizes=(2, 3, 2))
    arguments.update(changes)
    return eks.nodegroup_request("shop", "control", "arn:role/nodes", ["subnet-a"], "m5.large", **arguments)


def described_nodegroup(request):
    return {"instanceTypes": request["instanceTypes"], "subnets": request["subnets"],
            "scalingConfig": dict(request["scalingConfig"]), "labels": dict(request["labels"]),
            "taints": [dict(t) for t in request["taints"]]}


def test_an_unchanged_node_group_needs_no_update():
    assert eks.nodegroup_changes(described_nodegroup(nodegroup_request()), nodegroup_request()) == {}


def test_node_group_updates_carry_only_what_differs():
    current = described_nodegroup(nodegroup_request())
    wanted = nodegroup_request(sizes=(2, 5, 4), labels={"tier": "system"},
                               taints=[{"key": "CriticalAddonsOnly", "value": "yes", "effect": "NoSchedule"},
                                       {"key": "spot", "value": "", "effect": "PreferNoSchedule"}])
    assert eks.nodegroup_changes(current, wanted) == {
        "scalingConfig": {"minSize": 2, "maxSize": 5, "desiredSize": 4},
        "labels": {"addOrUpdateLabels": {"tier": "system"}, "removeLabels": ["role"]},
        "taints": {"addOrUpdateTaints": [{"key": "CriticalAddonsOnly", "value": "yes", "effect": "NO_SCHEDULE"},
                                         {"key": "spot", "value": "", "effect": "PREFER_NO_SCHEDULE"}]},
    }
    assert eks.nodegroup_changes(current, nodegroup_request(taints=[])) == {
        "taints": {"removeTaints": [{"key": "CriticalAddonsOnly", "effect": "NO_SCHEDULE"}]}}


def test_immutable_differences_of_a_managed_node_group():
    current = dict(described_nodegroup(nodegroup_request()), instanceTypes=["t3.large"])
    assert eks.nodegroup_immutable_differences(current, nodegroup_request()) == [
        ("instance_type", ["t3.large"], ["m5.large"])]


def test_bootstrap_user_data_names_the_cluster_and_carries_labels_and_taints():
    script = eks.bootstrap_user_data("shop", "https://api", "Q0E=", {"b": "2", "a": "1"},
                                     [{"key": "dedicated", "value": "lz", "effect": "NoSchedule"}])
    command = shlex.split(script.splitlines()[-1])
    assert command[:2] == ["/etc/eks/bootstrap.sh", "shop"]
    assert command[command.index("--apiserver-endpoint") + 1] == "https://api"
    assert command[command.index("--b64-cluster-ca") + 1] == "Q0E="
    assert command[command.index("--kubelet-extra-args") + 1] == (
        "--node-labels=a=1,b=2 --register-with-taints=dedicated=lz:NoSchedule")
    assert "--enable-local-outpost" not in command


def test_bootstrap_of_a_local_cluster_node_and_quoting():
    script = eks.bootstrap_user_data("it's", None, None, local_cluster_id="abc-123")
    command = shlex.split(script.splitlines()[-1])
    assert command == ["/etc/eks/bootstrap.sh", "it's", "--enable-local-outpost", "true", "--cluster-id", "abc-123"]


def test_describe_site_cluster():
    described = eks.describe_site_cluster(dict(described_cluster(), endpoint="https://api", status="ACTIVE",
                                               certificateAuthority={"data": "Q0E="}))
    assert (described["vpc_id"], described["cluster_security_group_id"], described["outpost"]) == ("vpc-1", "sg-c", None)
    assert described["certificate_authority_data"] == "Q0E="


def test_auto_scaling_group_settings_and_changes():
    wanted = autoscaling.group_settings("shop-lz", "shop-lz", ["subnet-b", "subnet-a"], 1, 3, 2, {"Name": "shop-lz"},
                                        "shop-lz")
    assert wanted["VPCZoneIdentifier"] == "subnet-a,subnet-b"
    assert wanted["Tags"] == [{"Key": "Name", "Value": "shop-lz", "PropagateAtLaunch": True}]
    current = {"MinSize": 1, "MaxSize": 3, "DesiredCapacity": 2, "VPCZoneIdentifier": "subnet-b,subnet-a",
               "LaunchTemplate": {"LaunchTemplateId": "lt-1", "LaunchTemplateName": "shop-lz", "Version": "$Latest"},
               "PlacementGroup": "shop-lz"}
    assert autoscaling.group_changes(current, wanted) == {}
    assert autoscaling.group_changes(dict(current, DesiredCapacity=5, VPCZoneIdentifier="subnet-a"), wanted) == {
        "DesiredCapacity": 2, "VPCZoneIdentifier": "subnet-a,subnet-b"}
