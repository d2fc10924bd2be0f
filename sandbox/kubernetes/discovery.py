"""The discovery documents (``/api``, ``/apis``, ``/apis/<group>/<version>``, ``/version``) of one cluster."""

from __future__ import annotations

from typing import Any

from sandbox.kubernetes.resources import ALL_VERBS, ResourceType, version_priority

SUBRESOURCE_VERBS = ("get", "patch", "update")


def version_info(kubernetes_version: str) -> dict[str, Any]:
    """``/version`` for a cluster of EKS version ``1.31`` (a patch release number is made up)."""
    major, _, minor = kubernetes_version.partition(".")
    git_version = f"v{major}.{minor}.0-eks-sandbox"
    return {"major": major, "minor": minor, "gitVersion": git_version, "gitCommit": "0" * 40,
            "gitTreeState": "clean", "buildDate": "2024-01-01T00:00:00Z", "goVersion": "go1.22.0",
            "compiler": "gc", "platform": "linux/amd64"}


def core_versions(server_address: str) -> dict[str, Any]:
    """``/api``: the legacy group's versions."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def group_document(group: str, versions: list[str]) -> dict[str, Any]:
    """One APIGroup: its versions, preferred first."""
    ordered = sorted(versions, key=version_priority)
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in ordered]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def groups(types: list[ResourceType]) -> dict[str, list[str]]:
    """group -> served versions, for every named group (the core group is under ``/api``)."""
    found: dict[str, list[str]] = {}
    for rtype in types:
        if rtype.group:
            versions = found.setdefault(rtype.group, [])
            versions.extend(v for v in rtype.versions if v not in versions)
    return found


def group_list(types: list[ResourceType]) -> dict[str, Any]:
    """``/apis``: an APIGroupList."""
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [group_document(g, v) for g, v in sorted(groups(types).items())]}


def resource_list(types: list[ResourceType], group: str, version: str) -> dict[str, Any] | None:
    """``/api/v1`` or ``/apis/<group>/<version>``: an APIResourceList, or None if nothing is served there."""
    served = [t for t in types if t.group == group and version in t.versions]
    if not served:
        return None
    resources: list[dict[str, Any]] = []
    for rtype in sorted(served, key=lambda t: t.plural):
        entry = {"name": rtype.plural, "singularName": rtype.singular, "namespaced": rtype.namespaced,
                 "kind": rtype.kind, "verbs": list(ALL_VERBS)}
        if rtype.short_names:
            entry["shortNames"] = list(rtype.short_names)
        if rtype.categories:
            entry["categories"] = list(rtype.categories)
        resources.append(entry)
        if rtype.status:
            resources.append({"name": f"{rtype.plural}/status", "singularName": "", "namespaced": rtype.namespaced,
                              "kind": rtype.kind, "verbs": list(SUBRESOURCE_VERBS)})
        if rtype.scale:
            resources.append({"name": f"{rtype.plural}/scale", "singularName": "", "namespaced": rtype.namespaced,
                              "group": "autoscaling", "version": "v1", "kind": "Scale",
                              "verbs": list(SUBRESOURCE_VERBS)})
        for extra in rtype.extra_subresources:
            resources.append({"name": f"{rtype.plural}/{extra}", "singularName": "", "namespaced": rtype.namespaced,
                              "kind": rtype.kind, "verbs": ["get"]})
        if rtype.kind == "Pod" and not rtype.group:
            resources.append({"name": "pods/eviction", "singularName": "", "namespaced": True, "group": "policy",
                              "version": "v1", "kind": "Eviction", "verbs": ["create"]})
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": resources}
