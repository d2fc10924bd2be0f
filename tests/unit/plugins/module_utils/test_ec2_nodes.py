"""EC2 decisions for self-managed nodes: CIDR rules between node subnets and launch template data."""

import base64

from ansible_collections.eks_ha.resilience.plugins.module_utils import ec2


def ranges(*cidrs):
    return [{"CidrIp": c, "Description": f"nodes in {c}"} for c in cidrs]


def test_node_rules_allow_all_traffic_and_dns_between_node_cidrs():
    assert ec2.node_ingress_rules(["10.0.2.0/24", "10.0.1.0/24", "10.0.2.0/24"]) == [
        {"IpProtocol": "-1", "IpRanges": ranges("10.0.1.0/24", "10.0.2.0/24")},
        {"IpProtocol": "tcp", "FromPort": 53, "ToPort": 53, "IpRanges": ranges("10.0.1.0/24", "10.0.2.0/24")},
        {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "IpRanges": ranges("10.0.1.0/24", "10.0.2.0/24")},
    ]
    assert ec2.node_ingress_rules([]) == []


def test_only_missing_rules_are_added():
    wanted = ec2.node_ingress_rules(["10.0.1.0/24", "10.0.2.0/24"])
    current = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.0.1.0/24"}], "UserIdGroupPairs": []},
               {"IpProtocol": "tcp", "FromPort": 53, "ToPort": 53,
                "IpRanges": [{"CidrIp": "10.0.1.0/24"}, {"CidrIp": "10.0.2.0/24"}]}]
    assert ec2.missing_ingress(current, wanted) == [
        {"IpProtocol": "-1", "IpRanges": ranges("10.0.2.0/24")},
        {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "IpRanges": ranges("10.0.1.0/24", "10.0.2.0/24")},
    ]
    assert ec2.missing_ingress(current + ec2.missing_ingress(current, wanted), wanted) == []
    assert ec2.rule_sentences(ec2.node_ingress_rules(["10.0.1.0/24"])) == [
        "all traffic from 10.0.1.0/24", "TCP 53 from 10.0.1.0/24", "UDP 53 from 10.0.1.0/24"]


def data(**changes):
    arguments = dict(image_id="ami-1", instance_type="t3.xlarge", user_data="#!/bin/bash\n",
                     security_group_ids=["sg-b", "sg-a"], volume_type="gp2", volume_size=20,
                     instance_profile="nodes", placement_group=None, tags={"Name": "shop-lz"})
    arguments.update(changes)
    return ec2.launch_template_data(**arguments)


def test_launch_template_data_of_a_node():
    built = data(instance_profile="arn:aws:iam::123456789012:instance-profile/nodes", placement_group="shop-lz")
    assert built["SecurityGroupIds"] == ["sg-a", "sg-b"]
    assert built["BlockDeviceMappings"][0]["Ebs"] == {"VolumeType": "gp2", "VolumeSize": 20, "DeleteOnTermination": True}
    assert built["IamInstanceProfile"] == {"Arn": "arn:aws:iam::123456789012:instance-profile/nodes"}
    assert built["Placement"] == {"GroupName": "shop-lz"}
    assert base64.b64decode(built["UserData"]).decode() == "#!/bin/bash\n"
    assert ec2.decode_user_data(built) == "#!/bin/bash\n"
    assert data()["IamInstanceProfile"] == {"Name": "nodes"}


def test_launch_template_changes_name_the_fields_that_differ():
    assert ec2.launch_template_changes(data(), data()) == []
    # As DescribeLaunchTemplateVersions answers: volume size may come back as a string, ids in another order.
    described = data()
    described["SecurityGroupIds"] = ["sg-b", "sg-a"]
    described["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] = "20"
    assert ec2.launch_template_changes(described, data()) == []
    assert ec2.launch_template_changes(data(), data(instance_type="c5.2xlarge", user_data="x")) == [
        "InstanceType", "UserData"]
    assert ec2.launch_template_changes(None, data()) != []
