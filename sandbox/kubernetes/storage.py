"""Storage in a sandbox cluster: PersistentVolume binding and the kubelet's mounts of Amazon EFS volumes.

Binding (``VolumeBinder``, the PV controller's static binding): a PersistentVolumeClaim binds to the
PersistentVolume whose ``claimRef`` names it, to the one it names in ``volumeName``, else to the smallest
unclaimed PV of its ``storageClassName`` (none: ``""``) and volume mode that offers its access modes and
requested storage. Both then are ``Bound`` (the PV's ``claimRef``, the claim's ``volumeName``, capacity and
access modes); an unclaimed PV is ``Available``, one whose claim is gone ``Released``, an unbound claim
``Pending``, a bound claim whose volume is gone ``Lost``. No dynamic provisioning: a claim no PV fits stays
Pending. The scheduler keeps a pod Pending while a claim it mounts is missing or unbound (``claim_problem``).

Mounting (``VolumeMounter``, the kubelet's volume manager): a pod starts only once every PersistentVolume it
mounts is mounted. A CSI volume of driver ``efs.csi.aws.com`` (``volumeHandle`` ``fs-id[:path[:fsap-id]]``)
mounts when a Ready pod labelled ``app: efs-csi-node`` (the driver's node plugin) runs on the pod's node
and that pod resolves ``<fs-id>.efs.<region>.amazonaws.com`` to an available mount target of the file
system, read through the sandbox's EFS API:

- the plugin pod's ``hostAliases`` entry for the name wins, as ``/etc/hosts`` does;
- else, on a node in an Availability Zone, DNS answers with the mount target in the node's zone (as on AWS,
  none in that zone means no answer; efs-utils' fallback looks for that zone's mount target too);
- on a node in a Local Zone (its ``topology.kubernetes.io/zone`` is of zone type ``local-zone``) DNS never
  answers: EFS has no mount targets there.

A name that does not resolve, or resolves to an address that is no available mount target of the file
system, fails the mount: the pod stays ContainerCreating with a Warning ``FailedMount`` Event worded as the
kubelet, the CSI driver and efs-utils word it, and the kubelet retries with its backoff (0.5 s doubling to
2 min 2 s, scaled by the sandbox time scale).
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sandbox.kubernetes.resources import ResourceType
from sandbox.kubernetes.store import ApiError, Obj, now

if TYPE_CHECKING:
    from sandbox.kubernetes.cluster import Cluster

EFS_DRIVER = "efs.csi.aws.com"
DRIVER_APP = "efs-csi-node"  # the ``app`` label of the driver's node plugin pods
ZONE_LABEL = "topology.kubernetes.io/zone"
INITIAL_BACKOFF = 0.5  # seconds before the kubelet retries a failed mount, doubling each time
MAX_BACKOFF = 122.0
_QUANTITY = re.compile(r"^([0-9.]+)([KMGTPE]i?)?$")
_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def storage_bytes(quantity: Any) -> float:
    """A storage quantity (``5Gi``, ``500M``, ``1024``) in bytes; an unreadable one counts as 0."""
    match = _QUANTITY.match(str(quantity or "0").strip())
    return float(match[1]) * _UNITS[match[2] or ""] if match else 0.0


def claim_names(pod: Obj) -> list[str]:
    return [volume["persistentVolumeClaim"]["claimName"] for volume in (pod.get("spec") or {}).get("volumes") or []
            if (volume.get("persistentVolumeClaim") or {}).get("claimName")]


def claim_problem(cluster: Cluster, pod: Obj) -> str | None:
    """Why the scheduler cannot place ``pod`` because of its claims (the scheduler's wording), or None."""
    claims = cluster.store.type("", "persistentvolumeclaims")
    for name in claim_names(pod):
        claim = cluster.store.get(claims, pod["metadata"]["namespace"], name)
        if claim is None:
            return f'persistentvolumeclaim "{name}" not found'
        if (claim.get("status") or {}).get("phase") != "Bound":
            return "pod has unbound immediate PersistentVolumeClaims"
    return None


def unschedulable_for_claims(problem: str, node_count: int) -> str:
    return (f"0/{node_count} nodes are available: {problem}. preemption: 0/{node_count} nodes are available: "
            f"{node_count} Preemption is not helpful for scheduling.")


class VolumeBinder:
    """One pass of the PV controller: bind claims, then give every volume and claim its phase."""

    def __init__(self, cluster: Cluster):
        self.store = cluster.store
        self.volumes = self.store.type("", "persistentvolumes")
        self.claims = self.store.type("", "persistentvolumeclaims")

    def reconcile(self) -> None:
        volumes = self.store.list(self.volumes)
        for claim in sorted(self.store.list(self.claims), key=lambda c: c["metadata"]["creationTimestamp"]):
            if (claim.get("status") or {}).get("phase") != "Bound":
                volume = self.match(claim, volumes)
                if volume is not None:
                    self.bind(volume, claim)
                    volumes = self.store.list(self.volumes)
        claims = {(c["metadata"]["namespace"], c["metadata"]["name"]): c for c in self.store.list(self.claims)}
        for volume in volumes:
            self.set_phase(self.volumes, volume, volume_phase(volume, claims))
        bound = {claim_key(v) for v in volumes if volume_phase(v, claims) == "Bound"}
        for key, claim in claims.items():
            if key not in bound:
                was_bound = (claim.get("status") or {}).get("phase") in ("Bound", "Lost")
                self.set_phase(self.claims, claim, "Lost" if was_bound else "Pending")

    def match(self, claim: Obj, volumes: list[Obj]) -> Obj | None:
        """The volume ``claim`` binds to: the one reserved for it, the one it names, else the best fit."""
        key = (claim["metadata"]["namespace"], claim["metadata"]["name"])
        reserved = next((v for v in volumes if claim_key(v) == key), None)
        if reserved is not None:
            uid = (reserved["spec"].get("claimRef") or {}).get("uid")
            return reserved if uid in (None, claim["metadata"]["uid"]) else None
        wanted = (claim.get("spec") or {}).get("volumeName")
        candidates = [v for v in volumes if not v["spec"].get("claimRef") and fits(v, claim)
                      and (not wanted or v["metadata"]["name"] == wanted)]
        return min(candidates, key=capacity, default=None)

    def bind(self, volume: Obj, claim: Obj) -> None:
        meta = claim["metadata"]
        by_controller = not volume["spec"].get("claimRef") and not (claim.get("spec") or {}).get("volumeName")

        def bind_volume(current: Obj) -> None:
            current["spec"]["claimRef"] = {"kind": "PersistentVolumeClaim", "apiVersion": "v1",
                                           "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"],
                                           "resourceVersion": meta["resourceVersion"]}
            current["status"] = {"phase": "Bound"}

        def bind_claim(current: Obj) -> None:
            current["spec"]["volumeName"] = volume["metadata"]["name"]
            annotations = current["metadata"].setdefault("annotations", {})
            annotations["pv.kubernetes.io/bind-completed"] = "yes"
            if by_controller:
                annotations["pv.kubernetes.io/bound-by-controller"] = "yes"
            current["status"] = {"phase": "Bound", "accessModes": volume["spec"].get("accessModes") or [],
                                 "capacity": volume["spec"].get("capacity") or {}}

        self.store.mutate(self.volumes, None, volume["metadata"]["name"], bind_volume)
        self.store.mutate(self.claims, meta["namespace"], meta["name"], bind_claim)

    def set_phase(self, rtype: ResourceType, obj: Obj, phase: str) -> None:
        def change(current: Obj) -> None:
            current.setdefault("status", {})["phase"] = phase

        if (obj.get("status") or {}).get("phase") != phase:
            self.store.mutate(rtype, obj["metadata"].get("namespace"), obj["metadata"]["name"], change)


def claim_key(volume: Obj) -> tuple[str, str] | None:
    reference = volume["spec"].get("claimRef") or {}
    return (reference.get("namespace") or "default", reference["name"]) if reference.get("name") else None


def volume_phase(volume: Obj, claims: dict[tuple[str, str], Obj]) -> str:
    """Bound to an existing claim (the one it was bound to, if it recorded it), Released, or Available."""
    key = claim_key(volume)
    if key is None:
        return "Available"
    claim, uid = claims.get(key), (volume["spec"].get("claimRef") or {}).get("uid")
    if claim is not None and uid in (None, claim["metadata"]["uid"]):
        return "Bound" if uid else "Available"
    return "Released" if uid else "Available"


def capacity(volume: Obj) -> float:
    return storage_bytes((volume["spec"].get("capacity") or {}).get("storage"))


def fits(volume: Obj, claim: Obj) -> bool:
    """Same class and volume mode, every access mode the claim asks, and at least the storage it requests."""
    spec, wanted = volume["spec"], claim.get("spec") or {}
    requested = ((wanted.get("resources") or {}).get("requests") or {}).get("storage")
    return (spec.get("storageClassName") or "") == (wanted.get("storageClassName") or "") \
        and spec.get("volumeMode", "Filesystem") == wanted.get("volumeMode", "Filesystem") \
        and set(wanted.get("accessModes") or []) <= set(spec.get("accessModes") or []) \
        and capacity(volume) >= storage_bytes(requested)


def parse_volume_handle(handle: str) -> tuple[str, str, str]:
    """``fs-id[:path[:fsap-id]]`` -> (file system id, path (default ``/``), access point id or ``""``)."""
    parts = handle.split(":")
    return parts[0], (parts[1] if len(parts) > 1 and parts[1] else "/"), (parts[2] if len(parts) > 2 else "")


class VolumeMounter:
    """The kubelet's volume manager across the cluster's nodes: mounts, retries and FailedMount Events."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.store = cluster.store
        self.retries: dict[str, tuple[float, float]] = {}  # pod uid -> (when to retry, backoff in AWS seconds)
        self.zone_types: dict[str, str] = {}
        self.clients: dict[str, Any] = {}

    def mounted(self, pod: Obj, node: Obj, ready_on_node: list[Obj]) -> bool:
        """Whether every volume of ``pod`` is mounted on ``node`` (``ready_on_node``: the node's Ready pods).

        A failed attempt records a FailedMount Event; the next one waits for the kubelet's backoff.
        """
        uid, moment = pod["metadata"]["uid"], time.monotonic()
        retry_at, backoff = self.retries.get(uid, (0.0, 0.0))
        if moment < retry_at:
            return False
        failure = self.failure(pod, node, ready_on_node)
        if failure is None:
            self.retries.pop(uid, None)
            return True
        backoff = min(MAX_BACKOFF, backoff * 2 or INITIAL_BACKOFF)
        self.retries[uid] = (moment + self.cluster.delay(backoff), backoff)
        self.warn(pod, node, failure)
        return False

    def forget_others(self, uids: set[str]) -> None:
        """Drop the retry state of pods that are gone or running."""
        self.retries = {uid: retry for uid, retry in self.retries.items() if uid in uids}

    def failure(self, pod: Obj, node: Obj, ready_on_node: list[Obj]) -> str | None:
        """Why the first volume that cannot be mounted fails (the kubelet's message), or None."""
        namespace, volumes = pod["metadata"]["namespace"], self.store.type("", "persistentvolumes")
        for name in claim_names(pod):
            claim = self.store.get(self.store.type("", "persistentvolumeclaims"), namespace, name)
            volume_name = ((claim or {}).get("spec") or {}).get("volumeName")
            volume = self.store.get(volumes, None, volume_name) if volume_name else None
            if volume is None or (claim.get("status") or {}).get("phase") != "Bound":
                return f"Unable to attach or mount volumes: error processing PVC {namespace}/{name}: PVC is not bound"
            csi = volume["spec"].get("csi") or {}
            if csi.get("driver") == EFS_DRIVER:
                failure = self.efs_failure(pod, node, ready_on_node, volume)
                if failure:
                    return failure
        return None

    def efs_failure(self, pod: Obj, node: Obj, ready_on_node: list[Obj], volume: Obj) -> str | None:
        name = volume["metadata"]["name"]
        plugin = next((p for p in ready_on_node if (p["metadata"].get("labels") or {}).get("app") == DRIVER_APP), None)
        if plugin is None:
            return (f'MountVolume.SetUp failed for volume "{name}" : kubernetes.io/csi: mounter.SetUpAt failed to get '
                    f"CSI client: driver name {EFS_DRIVER} not found in the list of registered CSI drivers")
        file_system, path, access_point = parse_volume_handle(volume["spec"]["csi"].get("volumeHandle") or "")
        hostname = f"{file_system}.efs.{self.cluster.spec.region}.amazonaws.com"
        zone = (node["metadata"].get("labels") or {}).get(ZONE_LABEL, "")
        targets = self.mount_targets(file_system)
        address = host_alias(plugin, hostname)
        if address is None and self.zone_type(zone) != "local-zone":
            address = next((t["IpAddress"] for t in targets
                            if t["AvailabilityZoneName"] == zone and t["LifeCycleState"] == "available"), None)
        if address is None:
            output, status = resolve_failure(hostname, file_system, zone, targets), 1
        elif address not in {t["IpAddress"] for t in targets if t["LifeCycleState"] == "available"}:
            output, status = "mount.nfs4: Connection timed out", 32
        else:
            return None
        source = f"{file_system}:{path}"
        target = f"/var/lib/kubelet/pods/{pod['metadata']['uid']}/volumes/kubernetes.io~csi/{name}/mount"
        options = ",".join(([f"accesspoint={access_point}"] if access_point else []) + ["tls"])
        return (f'MountVolume.SetUp failed for volume "{name}" : rpc error: code = Internal desc = Could not mount '
                f'"{source}" at "{target}": mount failed: exit status {status}\nMounting command: mount\n'
                f"Mounting arguments: -t efs -o {options} {source} {target}\nOutput: {output}")

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = self.cluster.aws(service, self.cluster.spec.region)
        return self.clients[service]

    def mount_targets(self, file_system: str) -> list[Obj]:
        """The file system's mount targets as DescribeMountTargets reports them (none if it does not exist)."""
        try:
            pages = self.client("efs").get_paginator("describe_mount_targets").paginate(FileSystemId=file_system)
            return pages.build_full_result().get("MountTargets", [])
        except (ClientError, BotoCoreError):
            return []

    def zone_type(self, zone: str) -> str:
        """``availability-zone`` or ``local-zone`` (or another EC2 zone type), as EC2 describes ``zone``."""
        if zone not in self.zone_types:
            try:
                zones = self.client("ec2").describe_availability_zones(ZoneNames=[zone])["AvailabilityZones"]
            except (ClientError, BotoCoreError):
                return "availability-zone"
            self.zone_types[zone] = zones[0]["ZoneType"] if zones else "availability-zone"
        return self.zone_types[zone]

    def warn(self, pod: Obj, node: Obj, message: str) -> None:
        """A Warning FailedMount Event on ``pod``; a repeated message counts up on the same Event."""
        events, meta = self.store.type("", "events"), pod["metadata"]
        name = f"{meta['name']}.{hashlib.sha256((meta['uid'] + message).encode()).hexdigest()[:16]}"
        stamp = now()

        def again(current: Obj) -> None:
            current.update(count=current.get("count", 1) + 1, lastTimestamp=stamp)

        if self.store.mutate(events, meta["namespace"], name, again) is not None:
            return
        host = node["metadata"]["name"]
        try:
            self.store.create(events, {
                "metadata": {"name": name, "namespace": meta["namespace"]},
                "involvedObject": {"kind": "Pod", "apiVersion": "v1", "namespace": meta["namespace"],
                                   "name": meta["name"], "uid": meta["uid"]},
                "reason": "FailedMount", "message": message, "type": "Warning",
                "source": {"component": "kubelet", "host": host}, "reportingComponent": "kubelet",
                "reportingInstance": host, "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1})
        except ApiError:  # the namespace is being deleted
            pass


def host_alias(pod: Obj, hostname: str) -> str | None:
    """The address ``hostname`` has in the pod's ``/etc/hosts`` (its ``hostAliases``; the first entry wins)."""
    return next((entry.get("ip") for entry in (pod.get("spec") or {}).get("hostAliases") or []
                 if hostname in (entry.get("hostnames") or [])), None)


def resolve_failure(hostname: str, file_system: str, zone: str, targets: list[Obj]) -> str:
    """What efs-utils says when the name does not resolve and its fallback finds no mount target in ``zone``."""
    available = [t for t in targets if t["LifeCycleState"] == "available"]
    in_zone = next((t for t in targets if t["AvailabilityZoneName"] == zone), None)
    zones = f"Available mount target(s) are in az {[t['AvailabilityZoneName'] for t in available]}"
    if not targets:
        reason = f"Cannot find mount target for the file system {file_system}, please create a mount target in {zone}."
    elif not available:
        reason = (f"No mount target created for the file system {file_system} is in available state yet, please "
                  "retry in 5 minutes.")
    elif in_zone is not None:
        reason = (f"Mount target in the az {zone} is {in_zone['LifeCycleState']}, please retry in 5 minutes, or use "
                  f"the mount target in the other az by passing the availability zone name option. {zones}")
    else:
        reason = (f"No matching mount target in the az {zone}. Please create one mount target in {zone}, or try the "
                  f"mount target in another AZ by passing the availability zone name option. {zones}")
    return (f'Failed to resolve "{hostname}". The file system mount target ip address cannot be found, please pass '
            f"mount target ip address via mount options. \n{reason}")
