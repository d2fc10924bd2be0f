"""The object store of one cluster: every object, the served kinds, and a change log for watches.

One re-entrant lock guards everything; callers get deep copies, never the stored dicts. Writes follow
the API server's rules: a global ``resourceVersion`` counter, ``generation`` bumped on spec changes,
409 on a stale ``resourceVersion``, namespaces that must exist, garbage collection by owner reference.
"""

from __future__ import annotations

import copy
import json
import random
import re
import threading
import uuid
from collections import deque
from datetime import datetime, timezone
from typing import Any, Callable

from sandbox.kubernetes.resources import BUILTIN_TYPES, ResourceType, type_from_crd

Obj = dict[str, Any]
CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACE_KEY = ("", "namespaces")
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# The alphabet Kubernetes draws generated name suffixes from (no vowels, no look-alikes).
SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


class ApiError(Exception):
    """An API failure, answered as a ``Status`` object with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> Obj:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "details": self.details, "code": self.code}


def not_found(rtype: ResourceType, name: str) -> ApiError:
    resource = f"{rtype.plural}.{rtype.group}" if rtype.group else rtype.plural
    return ApiError(404, "NotFound", f'{resource} "{name}" not found',
                    {"name": name, "group": rtype.group, "kind": rtype.plural})


def invalid(rtype: ResourceType, name: str, cause: str) -> ApiError:
    return ApiError(422, "Invalid", f'{rtype.kind} "{name}" is invalid: {cause}',
                    {"name": name, "group": rtype.group, "kind": rtype.kind})


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_suffix(length: int = 5) -> str:
    return "".join(random.choice(SUFFIX_ALPHABET) for _ in range(length))


def spec_part(obj: Obj) -> str:
    """Everything but metadata and status: a change here bumps ``metadata.generation``."""
    return json.dumps({k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")},
                      sort_keys=True)


class Store:
    """Objects of one cluster keyed by (group, plural) then (namespace, name); thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._types: dict[tuple[str, str], ResourceType] = {t.key: t for t in BUILTIN_TYPES}
        self._objects: dict[tuple[str, str], dict[tuple[str, str], Obj]] = {}
        self._revision = 0
        # (resourceVersion, event type, type key, object) for watches; old entries fall off.
        self.events: deque[tuple[int, str, tuple[str, str], Obj]] = deque(maxlen=5000)
        self._hooks: list[Callable[[str, ResourceType, Obj], None]] = []
        for name in INITIAL_NAMESPACES:
            self.create(self.type("", "namespaces"), {"metadata": {"name": name}})

    # -- kinds -------------------------------------------------------------------------------

    def types(self) -> list[ResourceType]:
        with self.lock:
            return list(self._types.values())

    def type(self, group: str, plural: str) -> ResourceType:
        with self.lock:
            return self._types[(group, plural)]

    def find_type(self, group: str, version: str | None, plural: str) -> ResourceType | None:
        """The served type for a URL's group/version/plural (None when not served)."""
        with self.lock:
            rtype = self._types.get((group, plural))
        return rtype if rtype and (version is None or version in rtype.versions) else None

    def type_for_kind(self, api_version: str, kind: str) -> ResourceType | None:
        """The type of an object written as ``apiVersion``/``kind`` (as in a manifest)."""
        group, _, version = api_version.rpartition("/")
        with self.lock:
            return next((t for t in self._types.values()
                         if t.group == group and t.kind == kind and version in t.versions), None)

    @property
    def revision(self) -> int:
        with self.lock:
            return self._revision

    def on_change(self, hook: Callable[[str, ResourceType, Obj], None]) -> None:
        """Call ``hook(event_type, type, object)`` after every write (under the store lock)."""
        self._hooks.append(hook)

    # -- reads -------------------------------------------------------------------------------

    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> Obj | None:
        with self.lock:
            found = self._objects.get(rtype.key, {}).get((self._ns(rtype, namespace), name))
            return copy.deepcopy(found) if found is not None else None

    def require(self, rtype: ResourceType, namespace: str | None, name: str) -> Obj:
        found = self.get(rtype, namespace, name)
        if found is None:
            raise not_found(rtype, name)
        return found

    def list(self, rtype: ResourceType, namespace: str | None = None,
             where: Callable[[Obj], bool] | None = None) -> list[Obj]:
        """Objects of ``rtype`` (in ``namespace`` when given), sorted by namespace and name."""
        with self.lock:
            items = [obj for (ns, _), obj in sorted(self._objects.get(rtype.key, {}).items())
                     if namespace is None or ns == namespace]
            return [copy.deepcopy(o) for o in items if where is None or where(o)]

    def list_kind(self, group: str, plural: str, namespace: str | None = None) -> list[Obj]:
        """Like ``list`` by group and plural; empty when the kind is not served (its CRD is missing)."""
        rtype = self.find_type(group, None, plural)
        return self.list(rtype, namespace) if rtype else []

    # -- writes ------------------------------------------------------------------------------

    def create(self, rtype: ResourceType, obj: Obj, namespace: str | None = None, dry_run: bool = False) -> Obj:
        """Store a new object; fills name from generateName, uid, resourceVersion, timestamps."""
        obj = copy.deepcopy(obj)
        obj.pop("status", None) if rtype.kind == "Pod" else None
        meta = obj.setdefault("metadata", {})
        with self.lock:
            ns = self._ns(rtype, namespace if namespace is not None else meta.get("namespace"))
            if rtype.namespaced and meta.get("namespace") not in (None, "", ns):
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the "
                                                  "namespace sent on the request")
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + random_suffix()
            name = meta.get("name") or ""
            self._validate(rtype, obj, name)
            if rtype.namespaced:
                if (("", ns)) not in self._objects.get(NAMESPACE_KEY, {}):
                    raise ApiError(404, "NotFound", f'namespaces "{ns}" not found',
                                   {"name": ns, "kind": "namespaces"})
                meta["namespace"] = ns
            else:
                meta.pop("namespace", None)
            bucket = self._objects.setdefault(rtype.key, {})
            if (ns, name) in bucket:
                resource = f"{rtype.plural}.{rtype.group}" if rtype.group else rtype.plural
                raise ApiError(409, "AlreadyExists", f'{resource} "{name}" already exists',
                               {"name": name, "group": rtype.group, "kind": rtype.plural})
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)
            meta.pop("deletionTimestamp", None)
            apply_defaults(rtype, obj)
            obj["apiVersion"], obj["kind"] = rtype.api_version(), rtype.kind
            if dry_run:
                meta["resourceVersion"] = str(self._revision)
                return obj
            return self._write(rtype, "ADDED", obj)

    def update(self, rtype: ResourceType, obj: Obj, namespace: str | None, name: str,
               subresource: str | None = None, dry_run: bool = False) -> Obj:
        """Replace an object (PUT). The main resource keeps the stored status of kinds with a status
        subresource; the ``status`` subresource changes only the status. A ``resourceVersion`` in ``obj``
        must be the current one (409 Conflict otherwise)."""
        with self.lock:
            current = self.require(rtype, namespace, name)
            meta = obj.get("metadata") or {}
            if meta.get("name") not in (None, name):
                raise ApiError(400, "BadRequest", "the name of the object "
                               f"({meta.get('name')}) does not match the name on the URL ({name})")
            wanted = meta.get("resourceVersion")
            if wanted and wanted != current["metadata"]["resourceVersion"]:
                resource = f"{rtype.plural}.{rtype.group}" if rtype.group else rtype.plural
                raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {resource} "{name}": the object '
                               "has been modified; please apply your changes to the latest version and try again",
                               {"name": name, "group": rtype.group, "kind": rtype.plural})
            if subresource == "status":
                new = copy.deepcopy(current)
                new["status"] = copy.deepcopy(obj.get("status"))
                if new["status"] is None:
                    new.pop("status")
            else:
                new = copy.deepcopy(obj)
                new_meta = new.setdefault("metadata", {})
                for kept in ("uid", "creationTimestamp", "namespace", "generation", "deletionTimestamp"):
                    if kept in current["metadata"]:
                        new_meta[kept] = current["metadata"][kept]
                new_meta["name"] = name
                if rtype.status or rtype.kind == "Node":
                    if "status" in current:
                        new["status"] = current["status"]
                    else:
                        new.pop("status", None)
                self._validate(rtype, new, name)
                keep_allocated(rtype, current, new)
                apply_defaults(rtype, new)
                if spec_part(new) != spec_part(current):
                    new_meta["generation"] = current["metadata"].get("generation", 1) + 1
            new["apiVersion"], new["kind"] = rtype.api_version(), rtype.kind
            if dry_run:
                return new
            return self._write(rtype, "MODIFIED", new)

    def mutate(self, rtype: ResourceType, namespace: str | None, name: str,
               change: Callable[[Obj], Any]) -> Obj | None:
        """Read-modify-write for controllers: ``change`` edits the current object in place, atomically.

        Nothing is written when the object is gone or ``change`` leaves it as it was. Controllers use this
        so they never overwrite a user's concurrent edit.
        """
        with self.lock:
            current = self.get(rtype, namespace, name)
            if current is None:
                return None
            edited = copy.deepcopy(current)
            change(edited)
            if edited == current:
                return current
            if spec_part(edited) != spec_part(current):
                edited["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
            return self._write(rtype, "MODIFIED", edited)

    def delete(self, rtype: ResourceType, namespace: str | None, name: str, orphan: bool = False) -> Obj:
        """Remove an object now; also its dependents (owner references) and, for a namespace, its contents."""
        with self.lock:
            current = self.require(rtype, namespace, name)
            current["metadata"]["deletionTimestamp"] = now()
            del self._objects[rtype.key][(self._ns(rtype, namespace), name)]
            self._revision += 1
            current["metadata"]["resourceVersion"] = str(self._revision)
            self._record("DELETED", rtype, current)
            if rtype.key == NAMESPACE_KEY:
                for other in self.types():
                    if other.namespaced:
                        for (ns, obj_name) in [k for k in self._objects.get(other.key, {}) if k[0] == name]:
                            self.delete(other, ns, obj_name)
            if rtype.key == CRD_KEY:
                self._unregister_crd(current)
            if not orphan:
                self._collect_dependents(current["metadata"]["uid"])
            return current

    # -- internals ---------------------------------------------------------------------------

    def _ns(self, rtype: ResourceType, namespace: str | None) -> str:
        return (namespace or "default") if rtype.namespaced else ""

    def _validate(self, rtype: ResourceType, obj: Obj, name: str) -> None:
        if not name:
            raise invalid(rtype, name, "metadata.name: Required value: name or generateName is required")
        pattern = _LABEL_NAME if rtype.kind in ("Namespace", "Service") else _NAME
        if len(name) > 253 or not pattern.match(name) and rtype.kind not in ("Node",):
            raise invalid(rtype, name, f'metadata.name: Invalid value: "{name}": a lowercase RFC 1123 '
                                       "subdomain must consist of lower case alphanumeric characters, '-' or '.'")
        spec = obj.get("spec") or {}
        if rtype.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
            selector = spec.get("selector")
            if not selector:
                raise invalid(rtype, name, "spec.selector: Required value")
            labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            from sandbox.kubernetes.selectors import match_labels_selector
            if not match_labels_selector(selector)(labels):
                raise invalid(rtype, name, "spec.template.metadata.labels: Invalid value: "
                                           f"{json.dumps(labels)}: `selector` does not match template `labels`")
            self._validate_pod_spec(rtype, name, (spec.get("template") or {}).get("spec"), "spec.template.spec")
        if rtype.kind == "Pod":
            self._validate_pod_spec(rtype, name, spec, "spec")

    @staticmethod
    def _validate_pod_spec(rtype: ResourceType, name: str, spec: Any, where: str) -> None:
        containers = (spec or {}).get("containers")
        if not containers:
            raise invalid(rtype, name, f"{where}.containers: Required value")
        for index, container in enumerate(containers):
            for required in ("name", "image"):
                if not container.get(required):
                    raise invalid(rtype, name, f"{where}.containers[{index}].{required}: Required value")

    def _write(self, rtype: ResourceType, event: str, obj: Obj) -> Obj:
        self._revision += 1
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self._revision)
        self._objects.setdefault(rtype.key, {})[(self._ns(rtype, meta.get("namespace")), meta["name"])] = obj
        if rtype.key == CRD_KEY:
            self._register_crd(obj)
        self._record(event, rtype, obj)
        return copy.deepcopy(obj)

    def _record(self, event: str, rtype: ResourceType, obj: Obj) -> None:
        self.events.append((self._revision, event, rtype.key, copy.deepcopy(obj)))
        for hook in self._hooks:
            hook(event, rtype, obj)
        self.changed.notify_all()

    def _register_crd(self, crd: Obj) -> None:
        rtype = type_from_crd(crd)
        if rtype is None:
            return
        previous = self._types.get(rtype.key)
        self._types[rtype.key] = rtype
        if previous and previous.custom and previous.namespaced != rtype.namespaced:
            self._objects.pop(rtype.key, None)
        spec = crd["spec"]
        # The API server reports the CRD established at once; clients wait for these conditions.
        crd["status"] = {
            "acceptedNames": spec.get("names"),
            "storedVersions": [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
            or [rtype.preferred],
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": crd["metadata"]["creationTimestamp"]},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted",
                 "lastTransitionTime": crd["metadata"]["creationTimestamp"]},
            ],
        }

    def _unregister_crd(self, crd: Obj) -> None:
        rtype = type_from_crd(crd)
        if rtype and self._types.get(rtype.key, rtype).custom:
            self._types.pop(rtype.key, None)
            for (ns, name) in list(self._objects.get(rtype.key, {})):
                self.delete(rtype, ns, name)
            self._objects.pop(rtype.key, None)

    def _collect_dependents(self, owner_uid: str) -> None:
        for rtype in self.types():
            for (ns, name), obj in list(self._objects.get(rtype.key, {}).items()):
                owners = obj["metadata"].get("ownerReferences") or []
                if any(o.get("uid") == owner_uid for o in owners) and (ns, name) in self._objects[rtype.key]:
                    self.delete(rtype, ns, name)


def keep_allocated(rtype: ResourceType, current: Obj, new: Obj) -> None:
    """An update that leaves out what the server allocated (a Service's cluster IP) keeps it, as the API server does."""
    if rtype.kind != "Service" or not isinstance(new.get("spec"), dict):
        return
    for field in ("clusterIP", "clusterIPs"):
        if field in (current.get("spec") or {}) and not new["spec"].get(field):
            new["spec"][field] = copy.deepcopy(current["spec"][field])


def apply_defaults(rtype: ResourceType, obj: Obj) -> None:
    """The defaults the API server fills in for the kinds whose controllers read them."""
    spec = obj.get("spec")
    kind = rtype.kind
    if kind == "Namespace":
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {"phase": "Active"})
    elif kind in ("Deployment", "ReplicaSet", "StatefulSet") and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        if kind == "Deployment":
            spec.setdefault("strategy", {"type": "RollingUpdate",
                                         "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)
    elif kind == "Pod":
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("schedulerName", "default-scheduler")
        obj.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})
    elif kind == "Ingress":
        obj.setdefault("status", {"loadBalancer": {}})
    elif kind == "Service" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("clusterIP", f"10.100.{random.randint(0, 255)}.{random.randint(1, 254)}")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
