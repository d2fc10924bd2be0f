"""Self-managed node groups in the sandbox: Auto Scaling group instances become Nodes of the cluster their user data
names, through the real boto3 and kubernetes clients."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from kubernetes import client

from sandbox import Sandbox
from sandbox.extensions.autoscaling import Bootstrap, parse_user_data

from .helpers import wait_for
from .test_kubernetes import api_client

IMAGE = "ami-03c3da4cfa8e8943a"


def user_data(cluster: str, labels: str = "", taints: str = "") -> str:
    kubelet = " ".join(part for part in (f"--node-labels={labels}" if labels else "",
                                         f"--register-with-taints={taints}" if taints else "") if part)
    extra = f" --kubelet-extra-args '{kubelet}'" if kubelet else ""
    script = f"#!/bin/bash\nset -o xtrace\n/etc/eks/bootstrap.sh {cluster}{extra}\n"
    return base64.b64encode(script.encode()).decode()


def subnet_id(sandbox: Sandbox, region: str, name: str) -> str:
    ec2 = sandbox.client("ec2", region)
    return ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": [name]}])["Subnets"][0]["SubnetId"]


class Group:
    """One launch template and Auto Scaling group, deleted again when the test ends."""

    def __init__(self, sandbox: Sandbox, region: str, name: str, subnet: str, instance_type: str, data: str):
        self.autoscaling = sandbox.client("autoscaling", region)
        self.ec2 = sandbox.client("ec2", region)
        self.name = name
        self.ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={
            "ImageId": IMAGE, "InstanceType": instance_type, "UserData": data})
        self.subnet = subnet

    def create(self, size: int) -> None:
        self.autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=self.name, LaunchTemplate={"LaunchTemplateName": self.name, "Version": "$Latest"},
            MinSize=0, MaxSize=5, DesiredCapacity=size, VPCZoneIdentifier=self.subnet)

    def instance_ids(self) -> set[str]:
        [group] = self.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[self.name])["AutoScalingGroups"]
        return {i["InstanceId"] for i in group["Instances"] if i["LifecycleState"] == "InService"}

    def delete(self) -> None:
        groups = self.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[self.name])["AutoScalingGroups"]
        if groups:
            self.autoscaling.delete_auto_scaling_group(AutoScalingGroupName=self.name, ForceDelete=True)
        self.ec2.delete_launch_template(LaunchTemplateName=self.name)


def nodes_with(api: client.ApiClient, selector: str) -> list[client.V1Node]:
    return client.CoreV1Api(api).list_node(label_selector=selector).items


def instance_of(node: client.V1Node) -> str:
    return node.spec.provider_id.rsplit("/", 1)[-1]


@pytest.fixture
def groups():
    made: list[Group] = []
    yield made
    for group in made:
        group.delete()


def test_user_data_of_the_eks_ami_names_cluster_labels_and_taints():
    script = ("#!/bin/bash\n# join the cluster\n/etc/eks/bootstrap.sh shop --apiserver-endpoint https://x "
              "--kubelet-extra-args '--node-labels=role=control,site=lz --register-with-taints=CriticalAddonsOnly=true:NoSchedule'\n")
    assert parse_user_data(script) == Bootstrap("shop", {"role": "control", "site": "lz"},
                                                [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}])
    assert parse_user_data("#!/bin/bash\n/etc/eks/bootstrap.sh shop\n") == Bootstrap("shop")
    assert parse_user_data("#!/bin/bash\necho hello\n") is None


def test_instances_of_a_local_zone_group_join_the_cluster_and_follow_its_capacity(sandbox: Sandbox, tmp_path: Path,
                                                                                  groups):
    api = api_client(sandbox, "eks-ha-localzone", "us-east-1", tmp_path)
    group = Group(sandbox, "us-east-1", "asg-lz-workers", subnet_id(sandbox, "us-east-1", "eks-ha-localzone-bos"),
                  "t3.xlarge", user_data("eks-ha-localzone", "pool=lz-asg", "dedicated=lz:NoSchedule"))
    groups.append(group)
    group.create(2)
    nodes = wait_for(lambda: len(nodes_with(api, "pool=lz-asg")) == 2 and nodes_with(api, "pool=lz-asg"))
    assert {instance_of(n) for n in nodes} == group.instance_ids()
    for node in nodes:
        assert node.metadata.labels["topology.kubernetes.io/zone"] == "us-east-1-bos-1a"
        assert node.metadata.labels["node.kubernetes.io/instance-type"] == "t3.xlarge"
        assert [(t.key, t.value, t.effect) for t in node.spec.taints] == [("dedicated", "lz", "NoSchedule")]

    group.autoscaling.set_desired_capacity(AutoScalingGroupName=group.name, DesiredCapacity=3)
    nodes = wait_for(lambda: len(nodes_with(api, "pool=lz-asg")) == 3 and nodes_with(api, "pool=lz-asg"))
    assert {instance_of(n) for n in nodes} == group.instance_ids()

    group.autoscaling.update_auto_scaling_group(AutoScalingGroupName=group.name, MinSize=0, DesiredCapacity=1)
    nodes = wait_for(lambda: len(nodes_with(api, "pool=lz-asg")) == 1 and nodes_with(api, "pool=lz-asg"))
    assert {instance_of(n) for n in nodes} == group.instance_ids()

    group.autoscaling.delete_auto_scaling_group(AutoScalingGroupName=group.name, ForceDelete=True)
    assert nodes_with(api, "pool=lz-asg") == []


def test_outpost_instances_report_the_outposts_anchor_zone(sandbox: Sandbox, tmp_path: Path, groups):
    api = api_client(sandbox, "eks-ha-outposts", "us-west-2", tmp_path)
    group = Group(sandbox, "us-west-2", "asg-outpost-workers", subnet_id(sandbox, "us-west-2", "eks-ha-outposts-op1"),
                  "m5.xlarge", user_data("eks-ha-outposts", "pool=outpost-asg"))
    groups.append(group)
    group.create(2)
    nodes = wait_for(lambda: len(nodes_with(api, "pool=outpost-asg")) == 2 and nodes_with(api, "pool=outpost-asg"))
    assert {n.metadata.labels["topology.kubernetes.io/zone"] for n in nodes} == {"us-west-2a"}
    assert all(not n.spec.taints for n in nodes)


def test_a_group_bootstrapping_an_unknown_cluster_launches_instances_but_no_nodes(sandbox: Sandbox, tmp_path: Path,
                                                                                 groups):
    api = api_client(sandbox, "eks-ha-localzone", "us-east-1", tmp_path)
    group = Group(sandbox, "us-east-1", "asg-elsewhere", subnet_id(sandbox, "us-east-1", "eks-ha-localzone-bos"),
                  "t3.xlarge", user_data("no-such-cluster", "pool=elsewhere"))
    groups.append(group)
    group.create(1)
    assert len(group.instance_ids()) == 1
    assert nodes_with(api, "pool=elsewhere") == []


def test_a_cluster_reports_its_vpc_and_the_cluster_security_group_eks_made(sandbox: Sandbox):
    vpc = sandbox.client("eks", "us-east-1").describe_cluster(name="eks-ha-localzone")["cluster"]["resourcesVpcConfig"]
    ec2 = sandbox.client("ec2", "us-east-1")
    [subnet] = ec2.describe_subnets(SubnetIds=vpc["subnetIds"])["Subnets"]
    [group] = ec2.describe_security_groups(GroupIds=[vpc["clusterSecurityGroupId"]])["SecurityGroups"]
    assert vpc["vpcId"] == subnet["VpcId"] == group["VpcId"]
    assert {"Key": "aws:eks:cluster-name", "Value": "eks-ha-localzone"} in group["Tags"]
    assert (vpc["endpointPublicAccess"], vpc["endpointPrivateAccess"]) == (True, False)
