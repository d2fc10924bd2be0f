"""The kinds a sandbox cluster serves: the built-in ones, plus every CustomResourceDefinition created at run time."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    """One REST resource (``deployments`` of ``apps``), the way discovery describes it.

    ``versions`` are the served versions, preferred first. ``status``/``scale`` say whether the kind has
    those subresources in discovery; ``scale_paths`` are (spec replicas, status replicas, label selector)
    as JSON paths for kinds with a scale subresource.
    """

    group: str
    versions: tuple[str, ...]
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status: bool = True
    scale: bool = False
    scale_paths: tuple[str, str, str] = (".spec.replicas", ".status.replicas", ".status.selector")
    custom: bool = False
    extra_subresources: tuple[str, ...] = field(default=())

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def preferred(self) -> str:
        return self.versions[0]

    def api_version(self, version: str | None = None) -> str:
        version = version or self.preferred
        return f"{self.group}/{version}" if self.group else version

    def prefix(self) -> str:
        return "api" if not self.group else "apis"


def _t(group: str, version: str, plural: str, kind: str, namespaced: bool = True, **extra: Any) -> ResourceType:
    singular = extra.pop("singular", kind.lower())
    return ResourceType(group, (version,), plural, singular, kind, namespaced, **extra)


BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _t("", "v1", "namespaces", "Namespace", False, short_names=("ns",)),
    _t("", "v1", "nodes", "Node", False, short_names=("no",)),
    _t("", "v1", "pods", "Pod", short_names=("po",), categories=("all",), extra_subresources=("log",)),
    _t("", "v1", "services", "Service", short_names=("svc",), categories=("all",)),
    _t("", "v1", "endpoints", "Endpoints", short_names=("ep",), status=False, singular="endpoints"),
    _t("", "v1", "secrets", "Secret", status=False),
    _t("", "v1", "configmaps", "ConfigMap", short_names=("cm",), status=False),
    _t("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",), status=False),
    _t("", "v1", "events", "Event", short_names=("ev",), status=False),
    _t("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short_names=("pvc",)),
    _t("", "v1", "persistentvolumes", "PersistentVolume", False, short_names=("pv",)),
    _t("apps", "v1", "deployments", "Deployment", short_names=("deploy",), categories=("all",), scale=True),
    _t("apps", "v1", "daemonsets", "DaemonSet", short_names=("ds",), categories=("all",)),
    _t("apps", "v1", "replicasets", "ReplicaSet", short_names=("rs",), categories=("all",), scale=True),
    _t("apps", "v1", "statefulsets", "StatefulSet", short_names=("sts",), categories=("all",), scale=True),
    _t("batch", "v1", "jobs", "Job", categories=("all",)),
    _t("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short_names=("pdb",)),
    _t("networking.k8s.io", "v1", "ingresses", "Ingress", short_names=("ing",)),
    _t("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False, status=False),
    _t("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
       short_names=("crd", "crds")),
    _t("rbac.authorization.k8s.io", "v1", "roles", "Role", status=False),
    _t("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", status=False),
    _t("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, status=False),
    _t("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False, status=False),
    _t("coordination.k8s.io", "v1", "leases", "Lease", status=False),
    _t("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, short_names=("sc",), status=False),
    _t("storage.k8s.io", "v1", "csidrivers", "CSIDriver", False, status=False),
)

_VERSION = re.compile(r"v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key that puts versions in the order Kubernetes prefers them: v2 > v1 > v1beta2 > v1alpha1 > other."""
    match = _VERSION.match(version)
    if not match:
        return (3, 0, 0, version)
    stability = {None: 0, "beta": 1, "alpha": 2}[match[2]]
    return (stability, -int(match[1]), -int(match[3] or 0), version)


def type_from_crd(crd: dict[str, Any]) -> ResourceType | None:
    """The resource a CustomResourceDefinition declares (served versions only), or None if it serves none."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
    if not versions or not names.get("plural") or not names.get("kind"):
        return None
    subresources = next((v.get("subresources") for v in versions if v.get("storage")), None) \
        or versions[0].get("subresources") or spec.get("subresources") or {}
    scale = subresources.get("scale") or {}
    return ResourceType(
        group=spec.get("group", ""),
        versions=tuple(sorted((v["name"] for v in versions), key=version_priority)),
        plural=names["plural"],
        singular=names.get("singular") or names["kind"].lower(),
        kind=names["kind"],
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        short_names=tuple(names.get("shortNames") or ()),
        categories=tuple(names.get("categories") or ()),
        status="status" in subresources,
        scale=bool(scale),
        scale_paths=(scale.get("specReplicasPath", ".spec.replicas"), scale.get("statusReplicasPath", ".status.replicas"),
                     scale.get("labelSelectorPath", ".status.selector")),
        custom=True,
    )
