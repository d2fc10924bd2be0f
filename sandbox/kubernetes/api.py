"""The Kubernetes REST API of one cluster as a WSGI app (JSON only), over the cluster's Store.

Paths: ``/version``, discovery (``/api``, ``/apis``, ``/apis/<g>[/<v>]``) and resources
``/api/v1[/namespaces/<ns>]/<plural>[/<name>[/status|scale]]`` (``/apis/<g>/<v>/...`` likewise), and the
``eviction`` subresource of pods (see ``sandbox.kubernetes.disruption``).
Every request needs a bearer token of the form EKS accepts (see ``sandbox.kubernetes.auth``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import yaml
from werkzeug.wrappers import Request, Response

from sandbox.kubernetes import discovery
from sandbox.kubernetes.disruption import evict
from sandbox.kubernetes.auth import token_is_valid
from sandbox.kubernetes.patch import APPLY_PATCH, PATCH_TYPES, PatchError, apply_patch
from sandbox.kubernetes.resources import ResourceType
from sandbox.kubernetes.selectors import SelectorError, field_selector, label_selector, selector_string
from sandbox.kubernetes.store import ApiError, Obj, Store, not_found

PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")
MAX_WATCH_SECONDS = 300


@dataclass(frozen=True)
class Target:
    """What a resource URL names: a type (at a version), maybe a namespace, name and subresource."""

    rtype: ResourceType
    version: str
    namespace: str | None
    name: str | None
    subresource: str | None


def status_response(error: ApiError) -> Response:
    return Response(json.dumps(error.status()), status=error.code, content_type="application/json")


def json_answer(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


class ApiServer:
    """WSGI app answering the Kubernetes API for one cluster."""

    def __init__(self, store: Store, kubernetes_version: str, address: Callable[[], str]):
        self.store = store
        self.kubernetes_version = kubernetes_version
        self.address = address

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except ApiError as error:
            response = status_response(error)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path in ("/healthz", "/livez", "/readyz"):
            return Response("ok", content_type="text/plain")
        authorization = request.headers.get("Authorization", "")
        if not (authorization.startswith("Bearer ") and token_is_valid(authorization[7:].strip())):
            raise ApiError(401, "Unauthorized", "Unauthorized")
        parts = path.strip("/").split("/")
        documents = self.discovery(path, parts)
        if documents is not None:
            if request.method != "GET":
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            return json_answer(documents)
        target = self.parse(parts)
        return self.serve(request, target)

    # -- discovery ---------------------------------------------------------------------------

    def discovery(self, path: str, parts: list[str]) -> Any:
        """The discovery document at ``path``, or None if ``path`` is not a discovery path."""
        types = self.store.types()
        if path == "/version":
            return discovery.version_info(self.kubernetes_version)
        if path == "/api":
            return discovery.core_versions(self.address())
        if path == "/apis":
            return discovery.group_list(types)
        if parts[0] == "api" and len(parts) == 2 or parts[0] == "apis" and len(parts) == 3:
            group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
            document = discovery.resource_list(types, group, version)
            if document is None:
                raise page_not_found()
            return document
        if parts[0] == "apis" and len(parts) == 2:
            versions = discovery.groups(types).get(parts[1])
            if not versions:
                raise page_not_found()
            return {"kind": "APIGroup", "apiVersion": "v1", **discovery.group_document(parts[1], versions)}
        if parts[0] not in ("api", "apis"):
            raise page_not_found()
        return None

    def parse(self, parts: list[str]) -> Target:
        """The resource a URL path names; 404 for anything the cluster does not serve."""
        if parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        else:
            group, version, rest = parts[1], parts[2], parts[3:]
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise page_not_found()
        rtype = self.store.find_type(group, version, rest[0])
        if rtype is None or (namespace is not None and not rtype.namespaced):
            raise page_not_found()
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if subresource == "finalize" and rtype.kind == "Namespace":
            subresource = None
        if subresource not in (None, "status", "scale", "eviction") or subresource == "scale" and not rtype.scale \
                or subresource == "eviction" and rtype.kind != "Pod":
            raise page_not_found()
        return Target(rtype, version, namespace, name, subresource)

    # -- resources ---------------------------------------------------------------------------

    def serve(self, request: Request, target: Target) -> Response:
        method = request.method
        if target.name is None:
            if method == "GET":
                if request.args.get("watch") in ("1", "true", "True"):
                    return self.watch(request, target)
                return json_answer(self.list(request, target))
            if method == "POST":
                body = self.body(request)
                created = self.store.create(target.rtype, body, target.namespace, dry_run=is_dry_run(request))
                return json_answer(self.output(created, target), 201)
            if method == "DELETE":
                return json_answer(self.delete_collection(request, target))
            raise method_not_allowed()
        if target.subresource == "scale":
            return json_answer(self.scale(request, target))
        if target.subresource == "eviction":
            if method != "POST":
                raise method_not_allowed()
            return json_answer(evict(self.store, target.namespace or "default", target.name, self.body(request),
                                     dry_run=is_dry_run(request)), 201)
        if method == "GET":
            return json_answer(self.output(self.store.require(target.rtype, target.namespace, target.name), target))
        if method == "PUT":
            updated = self.store.update(target.rtype, self.body(request), target.namespace, target.name,
                                        target.subresource, dry_run=is_dry_run(request))
            return json_answer(self.output(updated, target))
        if method == "PATCH":
            return self.patch(request, target)
        if method == "DELETE" and target.subresource is None:
            return json_answer(self.output(self.delete(request, target), target))
        raise method_not_allowed()

    def list(self, request: Request, target: Target) -> Obj:
        """A ``<Kind>List`` of the objects the selectors match, with optional ``limit``/``continue`` paging."""
        wanted = self.selectors(request)
        with self.store.lock:
            revision = self.store.revision
            items = self.store.list(target.rtype, target.namespace, wanted)
        metadata: dict[str, Any] = {"resourceVersion": str(revision)}
        limit = int(request.args.get("limit") or 0)
        offset = int(request.args.get("continue") or 0)
        if limit:
            remaining = items[offset + limit:]
            items = items[offset:offset + limit]
            if remaining:
                metadata.update({"continue": str(offset + limit), "remainingItemCount": len(remaining)})
        return {"kind": f"{target.rtype.kind}List", "apiVersion": target.rtype.api_version(target.version),
                "metadata": metadata, "items": [self.output(item, target) for item in items]}

    def selectors(self, request: Request) -> Callable[[Obj], bool]:
        try:
            labels = label_selector(request.args.get("labelSelector"))
            fields = field_selector(request.args.get("fieldSelector"))
        except SelectorError as error:
            raise ApiError(400, "BadRequest", str(error)) from None
        return lambda obj: labels(obj) and fields(obj)

    def patch(self, request: Request, target: Target) -> Response:
        content_type = request.mimetype
        if content_type not in PATCH_TYPES:
            raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                           f"accepted media types include: {', '.join(PATCH_TYPES)}")
        body = self.body(request)
        dry_run = is_dry_run(request)
        rtype, namespace, name = target.rtype, target.namespace, target.name
        with self.store.lock:  # read, patch and write as one step so a concurrent write cannot interleave
            current = self.store.get(rtype, namespace, name)
            if current is None:
                if content_type != APPLY_PATCH or target.subresource:
                    raise not_found(rtype, name)
                body.setdefault("metadata", {}).setdefault("name", name)
                created = self.store.create(rtype, body, namespace, dry_run=dry_run)
                return json_answer(self.output(created, target), 201)
            try:
                patched = apply_patch(content_type, current, body)
            except PatchError as error:
                raise ApiError(422, "Invalid", str(error)) from None
            if not isinstance(patched, dict):
                raise ApiError(422, "Invalid", "the patch does not result in an object")
            updated = self.store.update(rtype, patched, namespace, name, target.subresource, dry_run=dry_run)
        return json_answer(self.output(updated, target))

    def delete(self, request: Request, target: Target) -> Obj:
        if target.rtype.kind == "Namespace" and target.name in PROTECTED_NAMESPACES:
            raise ApiError(403, "Forbidden", f'namespaces "{target.name}" is forbidden: this namespace may not be '
                                             "deleted", {"name": target.name, "kind": "namespaces"})
        options = self.body(request, required=False)
        policy = request.args.get("propagationPolicy") or options.get("propagationPolicy")
        if is_dry_run(request) or "All" in (options.get("dryRun") or []):
            return self.store.require(target.rtype, target.namespace, target.name)
        return self.store.delete(target.rtype, target.namespace, target.name, orphan=policy == "Orphan")

    def delete_collection(self, request: Request, target: Target) -> Obj:
        deleted = []
        with self.store.lock:
            for obj in self.store.list(target.rtype, target.namespace, self.selectors(request)):
                meta = obj["metadata"]
                deleted.append(self.store.delete(target.rtype, meta.get("namespace"), meta["name"]))
        return {"kind": f"{target.rtype.kind}List", "apiVersion": target.rtype.api_version(target.version),
                "metadata": {"resourceVersion": str(self.store.revision)},
                "items": [self.output(o, target) for o in deleted]}

    def scale(self, request: Request, target: Target) -> Obj:
        """The autoscaling/v1 Scale of an object: GET it, PUT it or PATCH it."""
        rtype = target.rtype
        with self.store.lock:
            current = self.store.require(rtype, target.namespace, target.name)
            if request.method == "GET":
                return scale_of(rtype, current)
            if request.method == "PUT":
                wanted = self.body(request)
            elif request.method == "PATCH":
                try:
                    wanted = apply_patch(request.mimetype, scale_of(rtype, current), self.body(request))
                except PatchError as error:
                    raise ApiError(422, "Invalid", str(error)) from None
            else:
                raise method_not_allowed()
            replicas = (wanted.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                raise ApiError(422, "Invalid", f'Scale "{target.name}" is invalid: spec.replicas: Invalid value: '
                                               f"{replicas}: must be greater than or equal to 0")
            updated = dict(current)
            set_path(updated, rtype.scale_paths[0], replicas)
            updated["metadata"] = dict(current["metadata"],
                                       resourceVersion=(wanted.get("metadata") or {}).get("resourceVersion"))
            stored = self.store.update(rtype, updated, target.namespace, target.name, dry_run=is_dry_run(request))
            return scale_of(rtype, stored)

    def watch(self, request: Request, target: Target) -> Response:
        """A watch stream: ADDED for current objects (unless resuming from ``resourceVersion``), then every
        change until ``timeoutSeconds`` passes. A ``resourceVersion`` older than the change log gets 410 Gone."""
        wanted = self.selectors(request)
        since = request.args.get("resourceVersion") or ""
        timeout = min(float(request.args.get("timeoutSeconds") or MAX_WATCH_SECONDS), MAX_WATCH_SECONDS)
        rtype, namespace = target.rtype, target.namespace
        with self.store.lock:
            start = self.store.revision
            resume = since not in ("", "0")
            initial = [] if resume else self.store.list(rtype, namespace, wanted)
            oldest = self.store.events[0][0] if self.store.events else start + 1
            expired = resume and int(since) < oldest - 1 and int(since) < start

        def matches(event_key: tuple[str, str], obj: Obj) -> bool:
            return event_key == rtype.key and (namespace is None or obj["metadata"].get("namespace") == namespace) \
                and wanted(obj)

        def stream() -> Iterator[bytes]:
            if expired:
                gone = ApiError(410, "Expired", f"too old resource version: {since} ({start})")
                yield (json.dumps({"type": "ERROR", "object": gone.status()}) + "\n").encode()
                return
            for obj in initial:
                yield (json.dumps({"type": "ADDED", "object": self.output(obj, target)}) + "\n").encode()
            last = int(since) if resume else start
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with self.store.changed:
                    events = [e for e in self.store.events if e[0] > last]
                    if not events:
                        self.store.changed.wait(min(1.0, max(0.0, deadline - time.monotonic())))
                        continue
                for revision, kind, key, obj in events:
                    last = revision
                    if matches(key, obj):
                        yield (json.dumps({"type": kind, "object": self.output(obj, target)}) + "\n").encode()

        return Response(stream(), content_type="application/json", direct_passthrough=True)

    # -- helpers -----------------------------------------------------------------------------

    def body(self, request: Request, required: bool = True) -> Any:
        raw = request.get_data()
        if not raw.strip():
            if required:
                raise ApiError(400, "BadRequest", "the request body is empty")
            return {}
        try:
            if request.mimetype == APPLY_PATCH:
                return yaml.safe_load(raw)
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as error:
            raise ApiError(400, "BadRequest", f"the body of the request could not be decoded: {error}") from None

    @staticmethod
    def output(obj: Obj, target: Target) -> Obj:
        """``obj`` as seen at the version the request used."""
        obj["apiVersion"] = target.rtype.api_version(target.version)
        obj["kind"] = target.rtype.kind
        return obj


def scale_of(rtype: ResourceType, obj: Obj) -> Obj:
    """The autoscaling/v1 Scale view of an object with a scale subresource."""
    spec_path, status_path, selector_path = rtype.scale_paths
    meta = obj["metadata"]
    selector = get_path(obj, selector_path) if rtype.custom else selector_string((obj.get("spec") or {}).get("selector"))
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": get_path(obj, spec_path) or 0},
            "status": {"replicas": get_path(obj, status_path) or 0, **({"selector": selector} if selector else {})}}


def get_path(obj: Obj, path: str) -> Any:
    value: Any = obj
    for part in path.strip(".").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def set_path(obj: Obj, path: str, value: Any) -> None:
    parts = path.strip(".").split(".")
    for part in parts[:-1]:
        obj = obj.setdefault(part, {})
    obj[parts[-1]] = value


def is_dry_run(request: Request) -> bool:
    return "All" in request.args.getlist("dryRun")


def page_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
