"""Node objects as an EKS worker of a given instance type and zone reports itself."""

from __future__ import annotations

import random
from typing import Any

from moto.ec2.models.instance_types import INSTANCE_TYPES

DEFAULT_INSTANCE_TYPE = "m5.large"


def capacity(instance_type: str) -> dict[str, str]:
    """cpu, memory and the VPC CNI's pod limit (ENIs * (IPv4 per ENI - 1) + 2) of an instance type."""
    info = INSTANCE_TYPES.get(instance_type) or INSTANCE_TYPES[DEFAULT_INSTANCE_TYPE]
    network = info.get("NetworkInfo") or {}
    pods = network.get("MaximumNetworkInterfaces", 3) * (network.get("Ipv4AddressesPerInterface", 10) - 1) + 2
    return {"cpu": str(info["VCpuInfo"]["DefaultVCpus"]), "memory": f"{info['MemoryInfo']['SizeInMiB'] * 1024}Ki",
            "pods": str(pods), "ephemeral-storage": "20959212Ki"}


def allocatable(instance_type: str) -> dict[str, str]:
    """What the kubelet offers to pods: capacity minus the EKS AMI's system reservations."""
    total = capacity(instance_type)
    cpu_millis = int(total["cpu"]) * 1000 - 70
    memory_ki = int(total["memory"][:-2]) - 600 * 1024
    return {**total, "cpu": f"{cpu_millis}m", "memory": f"{memory_ki}Ki"}


def node_object(instance_type: str, zone: str, region: str, kubelet_version: str, labels: dict[str, str],
                taints: list[dict[str, Any]] | None = None, ip: str | None = None) -> dict[str, Any]:
    """A Ready Node named like an EC2 instance's private DNS name, with the well-known labels."""
    ip = ip or f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    name = f"ip-{ip.replace('.', '-')}.{region}.compute.internal" if region != "us-east-1" else \
        f"ip-{ip.replace('.', '-')}.ec2.internal"
    instance_id = "i-" + "".join(random.choice("0123456789abcdef") for _ in range(17))
    well_known = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": instance_type,
        "beta.kubernetes.io/instance-type": instance_type,
        "topology.kubernetes.io/zone": zone,
        "topology.kubernetes.io/region": region,
        "failure-domain.beta.kubernetes.io/zone": zone,
        "failure-domain.beta.kubernetes.io/region": region,
    }
    spec: dict[str, Any] = {"providerID": f"aws:///{zone}/{instance_id}"}
    if taints:
        spec["taints"] = taints
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {**well_known, **labels}},
        "spec": spec,
        "status": {
            "capacity": capacity(instance_type),
            "allocatable": allocatable(instance_type),
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure"},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID"},
                {"type": "Ready", "status": "True", "reason": "KubeletReady",
                 "message": "kubelet is posting ready status"},
            ],
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name},
                          {"type": "InternalDNS", "address": name}],
            "nodeInfo": {"kubeletVersion": kubelet_version, "kubeProxyVersion": kubelet_version,
                         "containerRuntimeVersion": "containerd://1.7.11", "operatingSystem": "linux",
                         "architecture": "amd64", "osImage": "Amazon Linux 2023", "machineID": instance_id,
                         "systemUUID": instance_id, "bootID": instance_id, "kernelVersion": "6.1.0-amazon"},
        },
    }
