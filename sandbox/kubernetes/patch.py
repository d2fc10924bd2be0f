"""The patch formats of the API server: JSON merge (RFC 7386), JSON patch (RFC 6902), strategic merge, apply."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (MERGE_PATCH, JSON_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)

# Lists that strategic merge merges element by element, keyed by the field that names an element
# (the patchMergeKey of the Kubernetes Go types). Lists not named here are replaced wholesale.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "hostAliases": "ip",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
    "taints": "key",
}
# Lists of scalars that strategic merge treats as sets (union) rather than replacing.
SET_LISTS = {"finalizers"}


class PatchError(ValueError):
    """The patch cannot be applied; the message says why (answered as 422 Invalid)."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merge recursively, ``null`` deletes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 operations applied to a copy of ``target``; a failed ``test`` or bad path raises PatchError."""
    if not isinstance(operations, list):
        raise PatchError("json patch must be a list of operations")
    try:
        return jsonpatch.apply_patch(target, operations, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, IndexError, TypeError) as error:
        raise PatchError(f"the server rejected our request due to an error in our request: {error}") from None


def strategic_merge(target: Any, patch: Any) -> Any:
    """Strategic merge patch: like a merge patch, but lists named in MERGE_KEYS merge by their key.

    Directives: ``$patch: delete`` removes a map (or a list element), ``$patch: replace`` replaces a map
    (or, as a list element, the whole list), ``$deleteFromPrimitiveList/<field>`` removes scalars from a set
    list; ``$setElementOrder/<field>`` and ``$retainKeys`` are accepted and ignored.
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return _DELETE
    body = {k: v for k, v in patch.items() if k != "$patch"}
    if directive == "replace":
        return _strip_directives(body)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in body.items():
        if key.startswith("$setElementOrder/") or key == "$retainKeys":
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [item for item in result.get(field) or [] if item not in value]
            continue
        if value is None:
            result.pop(key, None)
            continue
        if isinstance(value, list):
            merged = merge_list(key, result.get(key), value)
        else:
            merged = strategic_merge(result.get(key), value)
        if merged is _DELETE:
            result.pop(key, None)
        else:
            result[key] = merged
    return result


_DELETE = object()


def merge_list(field: str, current: Any, patch: list[Any]) -> list[Any]:
    """The list ``field`` after a strategic merge of ``patch`` into ``current``."""
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [_strip_directives(i) for i in patch if not (isinstance(i, dict) and i.get("$patch") == "replace")]
    current = current if isinstance(current, list) else []
    if field in SET_LISTS:
        return current + [item for item in patch if item not in current]
    key = MERGE_KEYS.get(field)
    if field == "ports":  # container ports merge by containerPort, Service ports by port
        key = "containerPort" if any(isinstance(i, dict) and "containerPort" in i for i in patch + current) else "port"
    if not key or not all(isinstance(item, dict) for item in patch):
        return [_strip_directives(item) for item in patch]
    result = copy.deepcopy(current)
    for item in patch:
        index = next((i for i, existing in enumerate(result)
                      if isinstance(existing, dict) and key in item and existing.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
            continue
        if index is None:
            result.append(_strip_directives(item))
        else:
            result[index] = strategic_merge(result[index], item)
    return result


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def apply_patch(content_type: str, target: Any, patch: Any) -> Any:
    """``target`` after ``patch`` of the given content type (server-side apply merges like strategic merge)."""
    if content_type == JSON_PATCH:
        return json_patch(target, patch)
    if content_type == MERGE_PATCH:
        return merge_patch(target, patch)
    if content_type in (STRATEGIC_MERGE_PATCH, APPLY_PATCH):
        merged = strategic_merge(target, patch)
        return {} if merged is _DELETE else merged
    raise PatchError(f"unsupported patch type {content_type}")
