# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Amazon EFS helpers for nodes in Local Zones: which mount target IP a file system's DNS name should resolve to.

EFS has no mount targets in Local Zones, and a Local Zone node cannot resolve ``<fs-id>.efs.<region>.amazonaws.com``
(the name resolves only to a mount target in the resolver's own AZ). The EFS CSI driver's node pods get a
``hostAliases`` entry for that name instead. A resolver uses one IP per name, so one mount target is chosen:
the one in the Local Zone's parent AZ unless the user names another AZ.

As in the other files here: thin boto3 wrappers (retried, raising ``AnsibleEFSError``) and pure decisions.
"""

import copy
import re

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

FILE_SYSTEM_ID = re.compile(r"^fs-[0-9a-f]{8,40}$")
ZONE_LABEL = "topology.kubernetes.io/zone"
# Labels a Helm install leaves on what it renders; Flux's helm-controller adds its own.
FLUX_RELEASE_LABELS = ("helm.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/namespace")
HELM_MANAGED_BY = ("app.kubernetes.io/managed-by", "Helm")
HELM_RELEASE_ANNOTATIONS = ("meta.helm.sh/release-name", "meta.helm.sh/release-namespace")
VALUES_KEY = "values.yaml"


class AnsibleEFSError(AnsibleAWSError):
    pass


class EFSErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleEFSError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(["FileSystemNotFound"])


# ---------------------------------------------------------------------------
# boto3 wrappers
# ---------------------------------------------------------------------------


@EFSErrorHandler.list_error_handler("describe file system")
@AWSRetry.jittered_backoff()
def describe_file_system(client, file_system_id):
    """The file system, or None when it does not exist."""
    return client.describe_file_systems(FileSystemId=file_system_id)["FileSystems"][0]


@EFSErrorHandler.common_error_handler("describe mount targets")
@AWSRetry.jittered_backoff()
def describe_mount_targets(client, file_system_id):
    pages = client.get_paginator("describe_mount_targets").paginate(FileSystemId=file_system_id)
    return pages.build_full_result().get("MountTargets", [])


@EFSErrorHandler.common_error_handler("describe availability zones")
@AWSRetry.jittered_backoff()
def describe_zones(ec2, zone_names):
    """{zone name: (zone type, parent zone name or None)} for ``zone_names``."""
    answer = ec2.describe_availability_zones(ZoneNames=sorted(zone_names), AllAvailabilityZones=True)
    return {z["ZoneName"]: (z.get("ZoneType", "availability-zone"), z.get("ParentZoneName"))
            for z in answer["AvailabilityZones"]}


# ---------------------------------------------------------------------------
# Pure decisions
# ---------------------------------------------------------------------------


def dns_name(file_system_id, region):
    """The name the EFS CSI driver (efs-utils) mounts."""
    return f"{file_system_id}.efs.{region}.amazonaws.com"


def available(mount_targets):
    return [m for m in mount_targets if m.get("LifeCycleState") == "available"]


def node_zones(nodes):
    """The zones of ``nodes`` (their topology.kubernetes.io/zone label)."""
    return sorted({((n.get("metadata") or {}).get("labels") or {}).get(ZONE_LABEL) for n in nodes} - {None})


def choose_zone(mount_targets, availability_zone=None, local_zone_parents=None):
    """``(zone, reason, problem)``: the AZ whose mount target the name should resolve to, and why.

    ``local_zone_parents`` maps each Local Zone considered (named by the user, or found among the cluster's
    nodes) to its parent AZ.
    """
    zones = sorted({m["AvailabilityZoneName"] for m in mount_targets})
    if availability_zone:
        if availability_zone not in zones:
            return None, None, (f"The file system has no available mount target in {availability_zone}; "
                                f"its mount targets are in {', '.join(zones)}.")
        return availability_zone, f"availability_zone names {availability_zone}", None
    parents = sorted(set((local_zone_parents or {}).values()))
    if len(parents) > 1:
        pairs = ", ".join(f"{lz} -> {p}" for lz, p in sorted(local_zone_parents.items()))
        return None, None, (f"Local Zones with different parent AZs ({pairs}); a name resolves to one IP, so name the "
                            "AZ to use with availability_zone.")
    if not parents:
        return None, None, ("No Local Zone was named (local_zone) or found among the cluster's nodes; name the AZ "
                            f"whose mount target to use with availability_zone (mount targets: {', '.join(zones)}).")
    parent = parents[0]
    if parent not in zones:
        return None, None, (f"The Local Zone's parent AZ {parent} has no available mount target (mount targets: "
                            f"{', '.join(zones)}); create one there, or name another AZ with availability_zone.")
    local = ", ".join(sorted(local_zone_parents))
    return parent, f"{parent} is the parent AZ of Local Zone {local}", None


def mount_target_in(mount_targets, zone):
    return next(m for m in mount_targets if m["AvailabilityZoneName"] == zone)


def alias_of(host_aliases, hostname):
    """The IP ``hostname`` resolves to through ``host_aliases`` (the first entry naming it), or None."""
    for entry in host_aliases or []:
        if hostname in (entry.get("hostnames") or []):
            return entry.get("ip")
    return None


def with_alias(host_aliases, hostname, ip):
    """``host_aliases`` with ``hostname`` resolving to ``ip`` only (None removes it); other names are kept."""
    result = []
    for entry in copy.deepcopy(host_aliases or []):
        names = [n for n in entry.get("hostnames") or [] if n != hostname]
        if names:
            result.append(dict(entry, hostnames=names))
    if ip is not None:
        existing = next((e for e in result if e.get("ip") == ip), None)
        if existing is not None:
            existing["hostnames"] = existing["hostnames"] + [hostname]
        else:
            result.append({"ip": ip, "hostnames": [hostname]})
    return result


def drift(current_ip, wanted_ip, mount_target_ips, hostname):
    """Sentences describing how the alias of ``hostname`` differs from what it should be ([] when it does not)."""
    if current_ip == wanted_ip:
        return []
    if current_ip is None:
        return [f"{hostname} has no host alias yet."]
    if current_ip not in mount_target_ips:
        return [f"{hostname} resolves to {current_ip}, which is no longer a mount target of the file system (stale)."]
    return [f"{hostname} resolves to {current_ip}, the mount target of another AZ than the one chosen."]


def chart_host_aliases(values, file_system_id, ip, region):
    """The aws-efs-csi-driver chart's ``node.hostAliases`` map (file system id -> ip, region) with this one set.

    The chart renders each entry as a host alias of ``<id>.efs.<region>.amazonaws.com``; ``ip`` None removes it.
    """
    aliases = copy.deepcopy(((values or {}).get("node") or {}).get("hostAliases") or {})
    if ip is None:
        aliases.pop(file_system_id, None)
    else:
        aliases[file_system_id] = {"ip": ip, "region": region}
    return aliases


def release_of(daemonset):
    """How the DaemonSet is managed: ``("flux", namespace, name)``, ``("helm", namespace, name)`` or ``(None, None, None)``."""
    metadata = daemonset.get("metadata") or {}
    labels, annotations = metadata.get("labels") or {}, metadata.get("annotations") or {}
    name, namespace = (labels.get(key) for key in FLUX_RELEASE_LABELS)
    if name and namespace:
        return "flux", namespace, name
    if labels.get(HELM_MANAGED_BY[0]) == HELM_MANAGED_BY[1]:
        name, namespace = (annotations.get(key) for key in HELM_RELEASE_ANNOTATIONS)
        return "helm", namespace or metadata.get("namespace"), name or labels.get("app.kubernetes.io/instance")
    return None, None, None


def values_from_entry(config_map):
    return {"kind": "ConfigMap", "name": config_map, "valuesKey": VALUES_KEY}


def references(helm_release, config_map):
    """Whether the HelmRelease takes values from ``config_map``."""
    return any(entry.get("kind") == "ConfigMap" and entry.get("name") == config_map
               for entry in ((helm_release.get("spec") or {}).get("valuesFrom") or []))
