"""eks_site run by Ansible against the sandbox: clusters and node groups of every site kind made from nothing.

The sandbox is seeded from a network-only inventory (one VPC with Region subnets in two Availability Zones, a
subnet in the Boston Local Zone and one subnet on each of two Outposts, and a second VPC), so every cluster here is
made by the module. The sandbox serves a Kubernetes API for each cluster EKS creates, managed node groups become
Nodes, and instances of an Auto Scaling group become Nodes of the cluster their bootstrap user data names. The
tests run in file order on one sandbox: each step starts from the state the previous one left.
"""

from __future__ import annotations

import base64

import pytest
from kubernetes import client as k8s_client

from ..conftest import kubernetes_api
from .plays import REPO, task

pytestmark = pytest.mark.integration

INVENTORY = REPO / "tests" / "integration" / "modules" / "eks_site_inventory"
REGION = "us-east-1"
CLUSTER = "factory"
ROLE = "arn:aws:iam::123456789012:role/eks-site-cluster"
NODE_ROLE = "arn:aws:iam::123456789012:role/eks-site-nodes"
IMAGE = "ami-03c3da4cfa8e8943a"
OUTPOST_1 = "arn:aws:outposts:us-east-1:123456789012:outpost/op-0e5a17e000000001a"
OUTPOST_2 = "arn:aws:outposts:us-east-1:123456789012:outpost/op-0e5a17e000000002b"
CONTROL_TAINT = {"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}


def groups(control_size=2, boston_size=2, **boston):
    return [
        {"name": "control", "subnets": ["eks-site-use1a", "eks-site-use1b"], "instance_type": "m5.large",
         "desired_size": control_size, "node_role_arn": NODE_ROLE, "labels": {"role": "control"},
         "taints": [CONTROL_TAINT]},
        dict({"name": "boston", "subnets": ["eks-site-bos"], "instance_type": "t3.xlarge", "desired_size": boston_size,
              "image_id": IMAGE, "labels": {"site": "boston"}}, **boston),
        {"name": "outpost-1", "subnets": ["eks-site-op1"], "instance_type": "m5.xlarge", "desired_size": 1,
         "image_id": IMAGE, "spread_placement": True},
        {"name": "outpost-2", "subnets": ["eks-site-op2"], "instance_type": "m5.xlarge", "desired_size": 1,
         "image_id": IMAGE},
    ]


def site_args(name=CLUSTER, node_groups=None, **cluster):
    return {"name": name, "region": REGION,
            "cluster": dict({"version": "1.31", "role_arn": ROLE, "subnets": ["eks-site-use1a", "eks-site-use1b"]},
                            **cluster),
            "node_groups": groups() if node_groups is None else node_groups,
            "node_security_group": {}}


def eks_site(check=False, diff=False, **args):
    return task("eks_site", site_args(**args), check=check, diff=diff)


def by_name(result):
    return {g["name"]: g for g in result["node_groups"]}


def nodes(sandbox, cluster, selector):
    return k8s_client.CoreV1Api(kubernetes_api(sandbox, cluster)).list_node(label_selector=selector).items


def zones_of(items):
    return sorted(n.metadata.labels["topology.kubernetes.io/zone"] for n in items)


def cluster_names(sandbox):
    return sandbox.client("eks", REGION).list_clusters()["clusters"]


# -- bad input --------------------------------------------------------------------------------------


def bad_inputs():
    """(case, the sentence's telling part)."""
    boston, outpost = groups()[1], groups()[2]
    return [
        (site_args(node_groups=[dict(boston, instance_type="m5.large")]),
         "node_groups[boston].instance_type m5.large is not offered in Local Zone us-east-1-bos-1a; offered there"),
        (site_args(node_groups=[dict(outpost, instance_type="t3.medium")]),
         f"node_groups[outpost-1].instance_type t3.medium is not offered in Outpost {OUTPOST_1}; offered there"),
        (site_args(node_groups=[dict(boston, volume_type="gp3")]),
         "node_groups[boston].volume_type gp3 is not available in Local Zone us-east-1-bos-1a; EBS volumes in Local "
         "Zones are gp2"),
        (site_args(node_groups=[dict(outpost, kind="managed", node_role_arn=NODE_ROLE, spread_placement=False)]),
         "node_groups[outpost-1] asks for a managed node group on Outpost subnets"),
        (site_args(node_groups=[dict(boston, subnets=["eks-site-elsewhere-a"])]),
         "node_groups[boston].subnets has subnets outside the cluster's VPC"),
        (site_args(node_groups=[dict(boston, subnets=["subnet-0123456789abcdef0"])]),
         "node_groups[boston].subnets names subnet-0123456789abcdef0, which is no subnet in us-east-1"),
        (site_args(subnets=["eks-site-use1a", "eks-site-bos"]),
         "cluster.subnets must be subnets of Region Availability Zones for a control plane in the Region"),
        (site_args(role_arn=None), f"EKS cluster '{CLUSTER}' does not exist in us-east-1; give cluster.role_arn"),
        (site_args(node_groups=[dict(boston, subnets=["eks-site-bos", "eks-site-use1a"])]),
         "node_groups[boston].subnets mixes Region Availability Zone and Local Zone subnets"),
    ]


def test_bad_input_fails_with_one_sentence_and_changes_nothing(sandbox, run):
    cases = bad_inputs()
    play = run.parallel("eks_site", [case for case, _ in cases])
    for result, (_, sentence) in zip(play.results, cases):
        assert result.get("failed"), result
        assert sentence in result["msg"], result["msg"]
    assert play.writes == []
    assert CLUSTER not in cluster_names(sandbox)


# -- check mode, create, again ---------------------------------------------------------------------


def test_check_mode_plans_the_site_and_writes_nothing(sandbox, run):
    play = run(eks_site(check=True, diff=True))
    result = play[0]
    assert result["changed"] is True, result
    assert result["actions"][0].startswith(f"Create EKS cluster {CLUSTER} in subnets")
    assert any(a.startswith("Create managed node group control") for a in result["actions"])
    assert any(a.startswith("Create Auto Scaling group factory-boston") for a in result["actions"])
    assert any("spread placement group factory-outpost-1 (rack level)" in a for a in result["actions"])
    assert result["diff"]["before"]["cluster"] is None
    assert result["diff"]["after"]["cluster"]["name"] == CLUSTER
    assert sorted(result["diff"]["after"]["node_groups"]) == ["boston", "control", "outpost-1", "outpost-2"]
    assert play.writes == []
    assert CLUSTER not in cluster_names(sandbox)


def test_creates_the_cluster_and_a_node_group_of_each_kind_whose_nodes_join_it(sandbox, run):
    result = run(eks_site())[0]
    assert result["changed"] is True, result
    cluster = result["cluster"]
    assert (cluster["status"], cluster["version"], cluster["adopted"]) == ("ACTIVE", "1.31", False)
    assert cluster["endpoint"].startswith("https://") and cluster["certificate_authority_data"]
    assert cluster["outpost"] is None
    groups_ = by_name(result)
    assert {n: (g["kind"], g["site_kind"], g["zones"]) for n, g in groups_.items()} == {
        "control": ("managed", "region", ["us-east-1a", "us-east-1b"]),
        "boston": ("self_managed", "local_zone", ["us-east-1-bos-1a"]),
        "outpost-1": ("self_managed", "outpost", ["us-east-1a"]),
        "outpost-2": ("self_managed", "outpost", ["us-east-1b"]),
    }
    assert result["site_kind"] == "outpost"
    assert result["outpost_arns"] == [OUTPOST_1, OUTPOST_2]
    assert result["node_security_group_id"] in result["security_group_ids"]
    assert cluster["cluster_security_group_id"] in result["security_group_ids"]

    # The cluster the module made has a Kubernetes API, and every group's nodes joined it in their zones.
    control = nodes(sandbox, CLUSTER, "eks.amazonaws.com/nodegroup=control")
    assert zones_of(control) == ["us-east-1a", "us-east-1b"]
    assert all([(t.key, t.value, t.effect) for t in n.spec.taints] == [("CriticalAddonsOnly", "true", "NoSchedule")]
               for n in control)
    boston = nodes(sandbox, CLUSTER, "eks-ha.resilience/node-group=boston")
    assert zones_of(boston) == ["us-east-1-bos-1a", "us-east-1-bos-1a"]
    assert all(n.metadata.labels["site"] == "boston" and n.metadata.labels["node.kubernetes.io/instance-type"]
               == "t3.xlarge" for n in boston)
    assert zones_of(nodes(sandbox, CLUSTER, "eks-ha.resilience/node-group=outpost-1")) == ["us-east-1a"]
    assert zones_of(nodes(sandbox, CLUSTER, "eks-ha.resilience/node-group=outpost-2")) == ["us-east-1b"]


def test_the_self_managed_groups_are_launch_templates_and_auto_scaling_groups(sandbox):
    ec2, autoscaling = sandbox.client("ec2", REGION), sandbox.client("autoscaling", REGION)
    [version] = ec2.describe_launch_template_versions(LaunchTemplateName="factory-boston",
                                                      Versions=["$Latest"])["LaunchTemplateVersions"]
    data = version["LaunchTemplateData"]
    assert data["InstanceType"] == "t3.xlarge"
    assert data["BlockDeviceMappings"][0]["Ebs"]["VolumeType"] == "gp2"
    user_data = base64.b64decode(data["UserData"]).decode()
    assert "/etc/eks/bootstrap.sh 'factory'" in user_data
    assert "--node-labels=eks-ha.resilience/node-group=boston,site=boston" in user_data
    [group] = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["factory-outpost-1"])["AutoScalingGroups"]
    assert group["PlacementGroup"] == "factory-outpost-1"
    [placement] = ec2.describe_placement_groups(GroupNames=["factory-outpost-1"])["PlacementGroups"]
    assert placement["Strategy"] == "spread"


def test_the_node_security_group_allows_the_node_subnets_by_cidr(sandbox):
    ec2 = sandbox.client("ec2", REGION)
    [group] = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["factory-nodes"]}])[
        "SecurityGroups"]
    rules = {(p["IpProtocol"], p.get("FromPort"), r["CidrIp"]) for p in group["IpPermissions"] for r in p["IpRanges"]}
    cidrs = [f"10.50.{i}.0/24" for i in range(1, 6)]
    assert rules == ({("-1", None, c) for c in cidrs} | {("tcp", 53, c) for c in cidrs} | {("udp", 53, c) for c in cidrs})
    assert all(not p.get("UserIdGroupPairs") for p in group["IpPermissions"])


def test_second_run_changes_nothing_and_writes_nothing(run):
    play = run(eks_site())
    assert play[0]["changed"] is False, play[0]["actions"]
    assert play[0]["actions"] == []
    assert not play[0].get("warnings")
    assert play.writes == []


# -- changes --------------------------------------------------------------------------------------


def test_check_mode_of_a_resize_shows_the_diff_and_writes_nothing(sandbox, run):
    play = run(task("eks_site", site_args(node_groups=groups(control_size=3, boston_size=3)), check=True, diff=True))
    result = play[0]
    assert result["changed"] is True
    diff = result["diff"]
    assert diff["before"]["node_groups"]["control"]["desired_size"] == 2
    assert diff["after"]["node_groups"]["control"]["desired_size"] == 3
    assert diff["before"]["node_groups"]["boston"]["desired_size"] == 2
    assert diff["after"]["node_groups"]["boston"]["desired_size"] == 3
    assert diff["before"]["cluster"] == diff["after"]["cluster"]
    assert play.writes == []
    assert len(nodes(sandbox, CLUSTER, "eks-ha.resilience/node-group=boston")) == 2


def test_a_resize_updates_the_groups_and_their_nodes(sandbox, run):
    play = run(task("eks_site", site_args(node_groups=groups(control_size=3, boston_size=3)), diff=True))
    result = play[0]
    assert result["changed"] is True
    assert sorted(call for _, call in play.writes) == [
        "/clusters/factory/node-groups/control/update-config", "UpdateAutoScalingGroup"]
    assert len(nodes(sandbox, CLUSTER, "eks.amazonaws.com/nodegroup=control")) == 3
    assert len(nodes(sandbox, CLUSTER, "eks-ha.resilience/node-group=boston")) == 3


def test_a_new_instance_type_makes_a_new_launch_template_version(sandbox, run):
    play = run(task("eks_site", site_args(node_groups=groups(control_size=3, boston_size=3,
                                                             instance_type="c5.2xlarge"))))
    assert play[0]["changed"] is True
    assert [call for _, call in play.writes] == ["CreateLaunchTemplateVersion"]
    again = run(task("eks_site", site_args(node_groups=groups(control_size=3, boston_size=3,
                                                              instance_type="c5.2xlarge"))))
    assert again[0]["changed"] is False and again.writes == []


# -- adopting ------------------------------------------------------------------------------------------


def test_an_existing_cluster_is_adopted_by_name_and_its_settings_are_not_changed(sandbox, run):
    eks = sandbox.client("eks", REGION)
    subnets = [s["SubnetId"] for s in sandbox.client("ec2", REGION).describe_subnets(
        Filters=[{"Name": "tag:Name", "Values": ["eks-site-use1a", "eks-site-use1b"]}])["Subnets"]]
    eks.create_cluster(name="made-elsewhere", version="1.30", roleArn=ROLE, resourcesVpcConfig={"subnetIds": subnets})
    control = dict(groups()[0], desired_size=1)

    differing_args = dict(site_args(name="made-elsewhere", node_groups=[control]))
    differing_args.pop("node_security_group")
    play = run(task("eks_site", {"name": "made-elsewhere", "region": REGION, "node_groups": [control]}),
               task("eks_site", differing_args))
    adopted, differing = play[0], play[1]
    assert not adopted.get("failed"), adopted["msg"]
    assert adopted["cluster"]["adopted"] is True and adopted["cluster"]["version"] == "1.30"
    assert adopted["actions"] == ["Create managed node group control (1 x m5.large) in us-east-1a, us-east-1b."]
    assert differing["changed"] is False
    assert any("has version 1.30, not 1.31" in w for w in differing["warnings"])
    assert [call for _, call in play.writes] == ["/clusters/made-elsewhere/node-groups"]
    assert eks.describe_cluster(name="made-elsewhere")["cluster"]["version"] == "1.30"
    assert len(nodes(sandbox, "made-elsewhere", "eks.amazonaws.com/nodegroup=control")) == 1


def test_adopting_a_cluster_of_another_placement_fails(run):
    play = run(task("eks_site", site_args(outpost={"outpost_arns": [OUTPOST_1],
                                                   "control_plane_instance_type": "m5.large"})))
    assert play[0]["failed"]
    assert "has its control plane in the Region but cluster.outpost asks for a local cluster" in play[0]["msg"]
    assert play.writes == []


# -- a local cluster on an Outpost ---------------------------------------------------------------------


def local_cluster(check=False):
    rack = {"name": "rack", "subnets": ["eks-site-op1"], "instance_type": "m5.2xlarge", "desired_size": 2,
            "image_id": IMAGE}
    args = {"name": "plant", "region": REGION, "node_groups": [rack],
            "cluster": {"role_arn": ROLE, "subnets": ["eks-site-op1"],
                        "outpost": {"outpost_arns": [OUTPOST_1], "control_plane_instance_type": "m5.large"}}}
    return task("eks_site", args, check=check)


def test_a_local_cluster_runs_on_its_outpost_with_its_nodes(sandbox, run):
    result = run(local_cluster())[0]
    assert result["changed"] is True, result
    assert result["cluster"]["outpost"] == {"outpost_arns": [OUTPOST_1], "control_plane_instance_type": "m5.large"}
    assert (result["site_kind"], result["zones"]) == ("outpost", ["us-east-1a"])
    assert by_name(result)["rack"]["kind"] == "self_managed"
    [version] = sandbox.client("ec2", REGION).describe_launch_template_versions(
        LaunchTemplateName="plant-rack", Versions=["$Latest"])["LaunchTemplateVersions"]
    user_data = base64.b64decode(version["LaunchTemplateData"]["UserData"]).decode()
    assert f"--enable-local-outpost true --cluster-id '{result['cluster']['id']}'" in user_data
    assert zones_of(nodes(sandbox, "plant", "eks-ha.resilience/node-group=rack")) == ["us-east-1a", "us-east-1a"]

    again = run(local_cluster())
    assert again[0]["changed"] is False and again.writes == []


def test_nodes_of_a_local_cluster_must_be_on_its_outpost(run):
    args = local_cluster()["args"]
    args["node_groups"] = [dict(args["node_groups"][0], subnets=["eks-site-op2"])]
    play = run(task("eks_site", args))
    assert play[0]["failed"]
    assert "node_groups[rack].subnets must be on the Outpost of the local cluster" in play[0]["msg"]
    assert play.writes == []
