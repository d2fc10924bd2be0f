"""EC2 Auto Scaling: instances of a self-managed node group join the EKS cluster their user data names.

moto runs launch templates and Auto Scaling groups and launches EC2 instances for them, but nothing boots.
Here, after every call that can change a group's instances, each InService instance of a group whose launch
template bootstraps an EKS node becomes a Node of that sandbox cluster, and a Node whose instance is gone
(scaled in, group deleted) is removed.

The user data is read in the Amazon Linux 2 EKS AMI's form: a shell script that runs
``/etc/eks/bootstrap.sh <cluster name> [options]``, where ``--kubelet-extra-args`` may carry
``--node-labels=key=value,...`` and ``--register-with-taints=key=value:Effect,...``. Other options
(``--apiserver-endpoint``, ``--b64-cluster-ca``, ``--enable-local-outpost``, ``--cluster-id``) are accepted
and ignored. A Node gets the labels and taints of its kubelet arguments, the well-known zone, Region and
instance-type labels of its instance (the zone of the instance's subnet: a Local Zone, or an Outpost's
anchor Availability Zone), and ``spec.providerID`` ``aws:///<zone>/<instance id>``.
"""

from __future__ import annotations

import base64
import binascii
import shlex
import threading
from dataclasses import dataclass, field
from typing import Any

from moto.autoscaling.models import autoscaling_backends
from moto.core import DEFAULT_ACCOUNT_ID
from werkzeug.wrappers import Response

from sandbox.extensions.base import Extension, Handler
from sandbox.kubernetes.cluster import ClusterRegistry
from sandbox.kubernetes.nodes import node_object
from sandbox.protocol import AwsRequest, Forward

BOOTSTRAP_SCRIPT = "/etc/eks/bootstrap.sh"
# Calls after which a group may have gained or lost instances.
CAPACITY_CALLS = {
    "CreateAutoScalingGroup", "UpdateAutoScalingGroup", "SetDesiredCapacity", "DeleteAutoScalingGroup",
    "TerminateInstanceInAutoScalingGroup", "AttachInstances", "DetachInstances", "ExecutePolicy",
}


@dataclass(frozen=True)
class Bootstrap:
    """What an EKS node's user data tells its kubelet."""

    cluster: str
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, str]] = field(default_factory=list)


def parse_user_data(user_data: str) -> Bootstrap | None:
    """The bootstrap call of a node's user data (see the module docstring), or None when it has none."""
    for line in user_data.splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        if BOOTSTRAP_SCRIPT not in words:
            continue
        arguments = words[words.index(BOOTSTRAP_SCRIPT) + 1:]
        if not arguments or arguments[0].startswith("--"):
            continue
        labels: dict[str, str] = {}
        taints: list[dict[str, str]] = []
        for flag, value in _options(arguments[1:]):
            if flag == "--kubelet-extra-args":
                extra_labels, extra_taints = parse_kubelet_args(value)
                labels.update(extra_labels)
                taints.extend(extra_taints)
        return Bootstrap(arguments[0], labels, taints)
    return None


def _options(words: list[str]) -> list[tuple[str, str]]:
    """``--flag value`` and ``--flag=value`` pairs of a bootstrap.sh command line."""
    pairs = []
    index = 0
    while index < len(words):
        word = words[index]
        if "=" in word and word.startswith("--"):
            flag, value = word.split("=", 1)
            pairs.append((flag, value))
        elif word.startswith("--") and index + 1 < len(words):
            pairs.append((word, words[index + 1]))
            index += 1
        index += 1
    return pairs


def parse_kubelet_args(arguments: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The node labels and taints of kubelet arguments ``--node-labels=...`` and ``--register-with-taints=...``."""
    labels: dict[str, str] = {}
    taints: list[dict[str, str]] = []
    for flag, value in _options(shlex.split(arguments)):
        if flag == "--node-labels":
            for pair in filter(None, value.split(",")):
                key, _, label_value = pair.partition("=")
                labels[key] = label_value
        elif flag == "--register-with-taints":
            for spec in filter(None, value.split(",")):
                key_value, _, effect = spec.rpartition(":")
                key, _, taint_value = key_value.partition("=")
                taints.append({"key": key, "value": taint_value, "effect": effect})
    return labels, taints


def decoded_user_data(user_data: Any) -> str:
    """The text of moto's (base64) user data; empty when there is none or it is not text."""
    if user_data is None:
        return ""
    try:
        return base64.b64decode(str(getattr(user_data, "_encoded_string", user_data))).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ""


def launch_template_data(group: Any) -> dict[str, Any]:
    """The launch template data a group launches with. Read from the version's data: moto keeps the user data of
    versions made by CreateLaunchTemplateVersion as plain text, which its own ``user_data`` accessors reject."""
    return group.ec2_launch_template.get_version(group.launch_template_version).data


class AutoScalingExtension(Extension):
    service = "autoscaling"

    def __init__(self, clusters: ClusterRegistry):
        self.clusters = clusters
        # instance id -> (Region, cluster name, Node name) of every Node this extension created.
        self.nodes: dict[str, tuple[str, str, str]] = {}
        self._lock = threading.Lock()

    def route(self, request: AwsRequest) -> Handler | None:
        return self.reconciled if request.action in CAPACITY_CALLS else None

    def status(self) -> dict[str, Any]:
        return {"self_managed_nodes": len(self.nodes)}

    def reconciled(self, request: AwsRequest, forward: Forward) -> Response:
        response = forward(request)
        if response.status_code == 200:
            self.reconcile(request.region)
        return response

    def reconcile(self, region: str) -> None:
        """Make the Nodes of the Region's groups match their InService instances."""
        backend = autoscaling_backends[DEFAULT_ACCOUNT_ID][region]
        with self._lock:
            running: dict[str, tuple[Any, Any, Bootstrap]] = {}
            for group in list(backend.autoscaling_groups.values()):
                if group.ec2_launch_template is None:
                    continue
                bootstrap = parse_user_data(decoded_user_data(launch_template_data(group).get("UserData")))
                cluster = self.clusters.get(region, bootstrap.cluster) if bootstrap else None
                if cluster is None:
                    continue
                for state in group.active_instances():
                    running[state.instance.id] = (group, cluster, bootstrap)
            for instance_id, (node_region, cluster_name, node_name) in list(self.nodes.items()):
                if node_region == region and instance_id not in running:
                    cluster = self.clusters.get(region, cluster_name)
                    if cluster is not None:
                        cluster.store.delete(cluster.store.type("", "nodes"), None, node_name)
                    del self.nodes[instance_id]
            for instance_id, (group, cluster, bootstrap) in running.items():
                if instance_id not in self.nodes:
                    instance = next(s.instance for s in group.active_instances() if s.instance.id == instance_id)
                    node = self.node(cluster, instance, bootstrap)
                    created = cluster.store.create(cluster.store.type("", "nodes"), node)
                    self.nodes[instance_id] = (region, cluster.name, created["metadata"]["name"])

    @staticmethod
    def node(cluster: Any, instance: Any, bootstrap: Bootstrap) -> dict[str, Any]:
        """The Node an instance registers as, named after its private DNS name."""
        zone = instance.availability_zone
        node = node_object(instance.instance_type, zone, cluster.spec.region, cluster.kubelet_version, bootstrap.labels,
                           bootstrap.taints or None, ip=instance.private_ip)
        node["spec"]["providerID"] = f"aws:///{zone}/{instance.id}"
        node["status"]["nodeInfo"].update(machineID=instance.id, systemUUID=instance.id)
        return node
