"""Just enough kustomize to build what Flux Kustomizations point at, in Python.

Supported in ``kustomization.yaml``: ``resources``/``bases`` (files and directories, recursively),
``namespace``, ``namePrefix``/``nameSuffix``, ``commonLabels`` (metadata only), ``commonAnnotations``,
``images``, ``replicas``, ``patchesStrategicMerge``, ``patchesJson6902`` and ``patches`` (``path`` or inline
``patch``, strategic merge or JSON 6902, with a ``target`` selector). A directory without a kustomization
file yields every YAML manifest below it, as Flux generates one. Generators and remote bases are not supported.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Callable

import yaml

from sandbox.kubernetes.patch import json_patch, strategic_merge
from sandbox.kubernetes.selectors import label_selector

Obj = dict[str, Any]
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


class KustomizeError(ValueError):
    """The manifests cannot be built; the message names the file and the problem."""


def load_documents(path: Path) -> list[Obj]:
    """Every non-empty YAML document of a file (a ``List`` kind is flattened)."""
    try:
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    except (OSError, yaml.YAMLError) as error:
        raise KustomizeError(f"{path}: {error}") from None
    flat = []
    for document in documents:
        flat.extend(document.get("items") or [] if document.get("kind") == "List" else [document])
    return flat


def build(directory: Path, namespaced: Callable[[str, str], bool], root: Path | None = None) -> list[Obj]:
    """The objects ``directory`` builds to; ``namespaced(apiVersion, kind)`` says which get a namespace."""
    root = root or directory
    if not directory.resolve().is_relative_to(root.resolve()) or not directory.is_dir():
        raise KustomizeError(f"kustomization path not found: {directory.relative_to(root) if directory.is_relative_to(root) else directory}")
    file = next((directory / name for name in KUSTOMIZATION_FILES if (directory / name).is_file()), None)
    if file is None:
        return [obj for path in sorted(directory.rglob("*.y*ml")) for obj in load_documents(path)
                if obj.get("kind") and obj.get("apiVersion")]
    config = yaml.safe_load(file.read_text()) or {}
    objects: list[Obj] = []
    for entry in (config.get("resources") or []) + (config.get("bases") or []):
        if "://" in entry or entry.startswith("github.com/"):
            raise KustomizeError(f"{file}: remote resource {entry} is not supported")
        path = directory / entry
        if path.is_dir():
            objects.extend(build(path, namespaced, root))
        elif path.is_file():
            objects.extend(load_documents(path))
        else:
            raise KustomizeError(f"{file}: resource {entry} not found")
    transform(objects, config, directory, namespaced)
    return objects


def transform(objects: list[Obj], config: Obj, directory: Path, namespaced: Callable[[str, str], bool]) -> None:
    """Apply the kustomization's transformers to ``objects`` in place."""
    for patch in config.get("patchesStrategicMerge") or []:
        documents = yaml.safe_load_all(patch) if "\n" in patch or ":" in patch else load_documents(directory / patch)
        for document in documents:
            apply_to(objects, selector_of(document), lambda obj, d=document: strategic_merge(obj, d))
    for entry in (config.get("patches") or []) + (config.get("patchesJson6902") or []):
        content = yaml.safe_load(entry["patch"]) if "patch" in entry else yaml.safe_load((directory / entry["path"]).read_text())
        target = entry.get("target")
        if isinstance(content, list):
            if not target:
                raise KustomizeError("a JSON 6902 patch needs a target")
            apply_to(objects, target, lambda obj, ops=content: json_patch(obj, ops))
        else:
            apply_to(objects, target or selector_of(content), lambda obj, d=content: strategic_merge(obj, d))
    for obj in objects:
        meta = obj.setdefault("metadata", {})
        meta["name"] = config.get("namePrefix", "") + meta.get("name", "") + config.get("nameSuffix", "")
        if config.get("namespace") and namespaced(obj.get("apiVersion", ""), obj.get("kind", "")):
            meta["namespace"] = config["namespace"]
        if config.get("commonLabels"):
            meta["labels"] = {**(meta.get("labels") or {}), **config["commonLabels"]}
        if config.get("commonAnnotations"):
            meta["annotations"] = {**(meta.get("annotations") or {}), **config["commonAnnotations"]}
        for replica in config.get("replicas") or []:
            if meta["name"] == replica["name"] and "replicas" in (obj.get("spec") or {}):
                obj["spec"]["replicas"] = replica["count"]
        for image in config.get("images") or []:
            set_image(obj, image)


def set_image(obj: Obj, image: Obj) -> None:
    """The ``images`` transformer for one entry: rename / retag every container using ``image.name``."""
    spec = obj.get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or spec
    for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
        current = container.get("image", "")
        name = re.split(r"[:@]", current, maxsplit=1)[0] if "/" not in current.rsplit(":", 1)[-1] else current
        if name != image["name"]:
            continue
        new = image.get("newName", name)
        if image.get("digest"):
            container["image"] = f"{new}@{image['digest']}"
        else:
            tag = image.get("newTag") or (current[len(name) + 1:] if len(current) > len(name) else "")
            container["image"] = f"{new}:{tag}" if tag else new


def selector_of(document: Obj) -> Obj:
    """The target a strategic merge patch names by its own apiVersion, kind, name and namespace."""
    group, _, version = (document.get("apiVersion") or "").rpartition("/")
    meta = document.get("metadata") or {}
    return {"group": group, "version": version, "kind": document.get("kind"), "name": meta.get("name"),
            "namespace": meta.get("namespace")}


def apply_to(objects: list[Obj], target: Obj, change: Callable[[Obj], Obj]) -> None:
    """Replace each object ``target`` selects by ``change(object)``."""
    matched = False
    for index, obj in enumerate(objects):
        if selected(obj, target):
            objects[index] = change(copy.deepcopy(obj))
            matched = True
    if not matched and target.get("name") and not any(ch in target["name"] for ch in "*.[("):
        raise KustomizeError(f"no matches for patch target {target.get('kind')}/{target['name']}")


def selected(obj: Obj, target: Obj) -> bool:
    group, _, version = (obj.get("apiVersion") or "").rpartition("/")
    meta = obj.get("metadata") or {}
    for key, actual in (("group", group), ("version", version), ("kind", obj.get("kind")),
                        ("namespace", meta.get("namespace"))):
        if target.get(key) and target[key] != actual:
            return False
    if target.get("name") and not re.fullmatch(target["name"], meta.get("name", "")):
        return False
    if target.get("labelSelector") and not label_selector(target["labelSelector"])(obj):
        return False
    if target.get("annotationSelector"):
        annotations = {"metadata": {"labels": meta.get("annotations") or {}}}
        if not label_selector(target["annotationSelector"])(annotations):
            return False
    return True
