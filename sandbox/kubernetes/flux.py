"""A stand-in for Flux: GitRepository, HelmRepository, Kustomization and HelmRelease reconcile for real.

Nothing happens unless Deployments ``source-controller`` (sources), ``kustomize-controller``
(Kustomizations) and ``helm-controller`` (HelmReleases) in ``flux-system`` have ready replicas. Each object
is reconciled RECONCILE_DELAY after it appears or changes, then again every RECONCILE_DELAY.

- GitRepository: ``spec.url`` must be ``file://<path>`` to a git repository; ``spec.ref`` (commit, tag,
  branch, name; else HEAD) is resolved with ``git rev-parse``. Ready with ``status.artifact.revision``
  ``<ref>@sha1:<sha>``, else Ready=False with git's message.
- HelmRepository: Ready once it has a ``spec.url``.
- Kustomization: waits for its source and ``dependsOn`` to be Ready, builds ``spec.path`` of the source at
  its revision (``sandbox.kubernetes.kustomize``), applies every object (create or update, ``targetNamespace``
  honoured), prunes objects of its previous inventory when ``spec.prune``; ``status.inventory`` as Flux's.
- A Kustomization applies like server-side apply: the fields a manifest sets are Flux's and are reset to the manifest on
  every reconcile; fields it does not set (the replicas of a Deployment whose manifest has none, an env var another
  client added) keep their live values; a field an earlier manifest set and the current one drops is removed.
- HelmRelease: waits for its chart source (and ``dependsOn``), installs ``sandbox.kubernetes.charts``'s
  objects for the chart into ``targetNamespace`` (or its own), upgrades on change, uninstalls on delete.
  Values: each ``spec.valuesFrom`` entry (a ConfigMap's or Secret's ``valuesKey``, default ``values.yaml``;
  missing and not ``optional`` is an error) merged in order, then ``spec.values`` on top; a change of a
  referenced ConfigMap or Secret upgrades the release.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sandbox.kubernetes import charts
from sandbox.kubernetes.kustomize import KustomizeError, build
from sandbox.kubernetes.patch import MERGE_KEYS, merge_patch, strategic_merge
from sandbox.kubernetes.store import ApiError, Obj, now

if TYPE_CHECKING:
    from sandbox.kubernetes.cluster import Cluster

RECONCILE_DELAY = 5.0
SOURCE, KUSTOMIZE, HELM = "source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io"
SOURCE_PLURALS = {"GitRepository": "gitrepositories", "HelmRepository": "helmrepositories",
                  "OCIRepository": "ocirepositories", "HelmChart": "helmcharts", "Bucket": "buckets"}
APPLY_ORDER = {"Namespace": 0, "CustomResourceDefinition": 1, "ServiceAccount": 2, "ClusterRole": 2, "Role": 2}


def dropped(previous: Any, current: Any) -> Obj:
    """A strategic merge patch removing what ``previous`` (an applied body) set and ``current`` no longer does.

    Map keys go with ``null``; elements of lists that merge by a key (containers, env, ...) with ``$patch: delete``.
    """
    if not isinstance(previous, dict) or not isinstance(current, dict):
        return {}
    patch: Obj = {}
    for key, value in previous.items():
        if key not in current:
            patch[key] = None
        elif isinstance(value, dict) and isinstance(current[key], dict):
            inner = dropped(value, current[key])
            if inner:
                patch[key] = inner
        elif key in MERGE_KEYS and isinstance(value, list) and isinstance(current[key], list):
            name = MERGE_KEYS[key]
            now_by_key = {item.get(name): item for item in current[key] if isinstance(item, dict)}
            changes = []
            for item in value:
                if not isinstance(item, dict) or name not in item:
                    continue
                if item[name] not in now_by_key:
                    changes.append({name: item[name], "$patch": "delete"})
                else:
                    inner = dropped(item, now_by_key[item[name]])
                    if inner:
                        changes.append({name: item[name], **inner})
            if changes:
                patch[key] = changes
    return patch


def ready_condition(obj: Obj | None) -> bool:
    return bool(obj) and any(c.get("type") == "Ready" and c.get("status") == "True"
                             for c in (obj.get("status") or {}).get("conditions") or [])


class Flux:
    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.store = cluster.store
        self.checked: dict[str, tuple[float, Any]] = {}  # uid -> (when reconciled, what it was reconciled at)
        self.inventories: dict[str, tuple[bool, list[tuple[tuple[str, str], str, str]]]] = {}  # uid -> (prune, objects)
        # (type key, namespace, name) -> the body last applied: the fields Flux owns on that object.
        self.applied: dict[tuple[tuple[str, str], str | None, str], Obj] = {}

    # -- plumbing ----------------------------------------------------------------------------

    def running(self, name: str) -> bool:
        found = self.store.get(self.store.type("apps", "deployments"), "flux-system", name)
        return bool(found and (found.get("status") or {}).get("readyReplicas", 0) > 0)

    def due(self, obj: Obj) -> bool:
        """Whether ``obj`` should be reconciled now: it changed, was asked to, or the interval passed."""
        meta = obj["metadata"]
        marker = (meta.get("generation"), (meta.get("annotations") or {}).get("reconcile.fluxcd.io/requestedAt"))
        seen = self.checked.get(meta["uid"])
        moment = time.monotonic()
        if seen is None:
            self.checked[meta["uid"]] = (moment, None)
            return False
        if moment - seen[0] < self.cluster.delay(RECONCILE_DELAY) and seen[1] == marker:
            return False
        self.checked[meta["uid"]] = (moment, marker)
        return True

    def set_ready(self, group: str, plural: str, obj: Obj, ok: bool, reason: str, message: str, **extra: Any) -> None:
        """Write ``Ready`` (and ``observedGeneration`` plus ``extra``) into the status, keeping transition times."""
        meta = obj["metadata"]

        def change(current: Obj) -> None:
            status = current.setdefault("status", {})
            old = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
            value = "True" if ok else "False"
            stamp = old.get("lastTransitionTime") if old.get("status") == value else now()
            status.update(extra, observedGeneration=current["metadata"].get("generation"))
            status["conditions"] = [{"type": "Ready", "status": value, "reason": reason, "message": message,
                                     "observedGeneration": current["metadata"].get("generation"),
                                     "lastTransitionTime": stamp or now()}]
            requested = (current["metadata"].get("annotations") or {}).get("reconcile.fluxcd.io/requestedAt")
            if requested:
                status["lastHandledReconcileAt"] = requested

        self.store.mutate(self.store.type(group, plural), meta["namespace"], meta["name"], change)

    # -- reconcile ---------------------------------------------------------------------------

    def reconcile(self) -> None:
        self.uninstall_deleted()
        if not self.running("source-controller"):
            return
        for repository in self.store.list_kind(SOURCE, "gitrepositories"):
            if self.due(repository):
                self.git_repository(repository)
        for repository in self.store.list_kind(SOURCE, "helmrepositories"):
            if self.due(repository):
                ok = bool((repository.get("spec") or {}).get("url"))
                self.set_ready(SOURCE, "helmrepositories", repository, ok, "Succeeded" if ok else "URLInvalid",
                               "stored artifact: revision 'sha256:" + hashlib.sha256(
                                   repository["spec"].get("url", "").encode()).hexdigest() + "'" if ok
                               else "spec.url is required")
        if self.running("kustomize-controller"):
            for kustomization in self.store.list_kind(KUSTOMIZE, "kustomizations"):
                if self.due(kustomization):
                    self.kustomization(kustomization)
        if self.running("helm-controller"):
            for release in self.store.list_kind(HELM, "helmreleases"):
                if self.due(release):
                    self.helm_release(release)

    def git_repository(self, repository: Obj) -> None:
        spec = repository.get("spec") or {}
        url, ref = spec.get("url", ""), spec.get("ref") or {}
        name = ref.get("commit") or ref.get("tag") or ref.get("branch") or ref.get("name") or "HEAD"
        expression = (ref.get("commit") or (f"refs/tags/{ref['tag']}^{{commit}}" if ref.get("tag") else None)
                      or (f"refs/heads/{ref['branch']}" if ref.get("branch") else None) or ref.get("name") or "HEAD")
        if not url.startswith("file://"):
            self.set_ready(SOURCE, "gitrepositories", repository, False, "GitOperationFailed",
                           f"failed to checkout and determine revision: the sandbox reads only file:// URLs, got '{url}'")
            return
        done = subprocess.run(["git", "-C", url[len("file://"):], "rev-parse", "--verify", "--quiet", expression],
                              capture_output=True, text=True)
        if done.returncode != 0:
            detail = done.stderr.strip() or f"reference '{name}' not found"
            self.set_ready(SOURCE, "gitrepositories", repository, False, "GitOperationFailed",
                           f"failed to checkout and determine revision: {detail}")
            return
        sha = done.stdout.strip()
        revision = f"{name}@sha1:{sha}" if name != sha else f"sha1:{sha}"
        meta = repository["metadata"]
        artifact = {"revision": revision, "digest": "sha256:" + hashlib.sha256(sha.encode()).hexdigest(),
                    "path": f"gitrepository/{meta['namespace']}/{meta['name']}/{sha}.tar.gz",
                    "url": f"http://source-controller.flux-system.svc.cluster.local./gitrepository/"
                           f"{meta['namespace']}/{meta['name']}/{sha}.tar.gz",
                    "lastUpdateTime": ((repository.get("status") or {}).get("artifact") or {}).get("lastUpdateTime")
                    if ((repository.get("status") or {}).get("artifact") or {}).get("revision") == revision else now()}
        self.set_ready(SOURCE, "gitrepositories", repository, True, "Succeeded",
                       f"stored artifact for revision '{revision}'", artifact=artifact)

    def dependencies_ready(self, group: str, plural: str, obj: Obj) -> str | None:
        """The first ``dependsOn`` entry that is not Ready, as ``namespace/name``, or None."""
        for dependency in (obj.get("spec") or {}).get("dependsOn") or []:
            namespace = dependency.get("namespace") or obj["metadata"]["namespace"]
            found = self.store.get(self.store.type(group, plural), namespace, dependency["name"])
            if not ready_condition(found):
                return f"{namespace}/{dependency['name']}"
        return None

    def source(self, owner: Obj, reference: Obj) -> Obj | None:
        plural = SOURCE_PLURALS.get(reference.get("kind", "GitRepository"))
        rtype = plural and self.store.find_type(SOURCE, None, plural)
        return self.store.get(rtype, reference.get("namespace") or owner["metadata"]["namespace"],
                              reference.get("name", "")) if rtype else None

    def kustomization(self, kustomization: Obj) -> None:
        spec, meta = kustomization.get("spec") or {}, kustomization["metadata"]
        reference = spec.get("sourceRef") or {}
        source = self.source(kustomization, reference)
        where = f"{reference.get('kind', 'GitRepository')}/{reference.get('namespace') or meta['namespace']}/{reference.get('name')}"
        if source is None:
            return self.set_ready(KUSTOMIZE, "kustomizations", kustomization, False, "ArtifactFailed",
                                  f"Source '{where}' not found")
        if not ready_condition(source) or not ((source.get("status") or {}).get("artifact") or {}).get("revision"):
            return self.set_ready(KUSTOMIZE, "kustomizations", kustomization, False, "ArtifactFailed",
                                  f"Source '{where}' is not ready")
        blocked = self.dependencies_ready(KUSTOMIZE, "kustomizations", kustomization)
        if blocked:
            return self.set_ready(KUSTOMIZE, "kustomizations", kustomization, False, "DependencyNotReady",
                                  f"dependency '{blocked}' is not ready")
        revision = source["status"]["artifact"]["revision"]
        try:
            objects = self.build_at(source, revision.rsplit(":", 1)[-1], spec.get("path") or "./")
            target = spec.get("targetNamespace")
            applied = self.apply_all(objects, target, {"kustomize.toolkit.fluxcd.io/name": meta["name"],
                                                       "kustomize.toolkit.fluxcd.io/namespace": meta["namespace"]})
        except (KustomizeError, ApiError, subprocess.CalledProcessError) as error:
            reason = "BuildFailed" if isinstance(error, (KustomizeError, subprocess.CalledProcessError)) else "ReconciliationFailed"
            return self.set_ready(KUSTOMIZE, "kustomizations", kustomization, False, reason, str(error),
                                  lastAttemptedRevision=revision)
        self.replace_inventory(meta["uid"], applied, bool(spec.get("prune")))
        entries = [{"id": f"{ns}_{name}_{key[0]}_{self.store.type(*key).kind}", "v": self.store.type(*key).preferred}
                   for key, ns, name in applied]
        self.set_ready(KUSTOMIZE, "kustomizations", kustomization, True, "ReconciliationSucceeded",
                       f"Applied revision: {revision}", lastAppliedRevision=revision, lastAttemptedRevision=revision,
                       inventory={"entries": entries})

    def build_at(self, source: Obj, sha: str, path: str) -> list[Obj]:
        """The objects ``path`` of the source repository builds to at commit ``sha``."""
        repository = source["spec"]["url"][len("file://"):]
        archive = subprocess.run(["git", "-C", repository, "archive", "--format=tar", sha], capture_output=True,
                                 check=True).stdout
        with tempfile.TemporaryDirectory() as checkout:
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(checkout, filter="data")
            root = Path(checkout)
            return build((root / path).resolve(), self.namespaced, root.resolve())

    def namespaced(self, api_version: str, kind: str) -> bool:
        rtype = self.store.type_for_kind(api_version, kind)
        return rtype.namespaced if rtype else kind not in ("Namespace", "CustomResourceDefinition", "ClusterRole",
                                                           "ClusterRoleBinding")

    def apply_all(self, objects: list[Obj], namespace: str | None, labels: dict[str, str],
                  server_side: bool = True) -> list[tuple[tuple[str, str], str, str]]:
        """Create or update each object (namespaces and CRDs first); return (type key, namespace, name) of each.

        ``server_side``: fields the manifest does not set keep their live values (a Kustomization); otherwise the
        manifest replaces the object's spec (a Helm release's rendered objects).
        """
        applied = []
        for obj in sorted(objects, key=lambda o: APPLY_ORDER.get(o.get("kind"), 3)):
            rtype = self.store.type_for_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
            name = (obj.get("metadata") or {}).get("name", "")
            if rtype is None:
                raise ApiError(404, "NotFound", f"{obj.get('kind')}/{name} dry-run failed: no matches for kind "
                                                f"\"{obj.get('kind')}\" in version \"{obj.get('apiVersion')}\"")
            meta = obj.setdefault("metadata", {})
            meta["labels"] = {**(meta.get("labels") or {}), **labels}
            ns = (namespace or meta.get("namespace") or "default") if rtype.namespaced else None
            if rtype.namespaced:
                meta["namespace"] = ns
            current = self.store.get(rtype, ns, name)
            if current is None:
                self.store.create(rtype, obj, ns)
            else:
                body = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
                previous = self.applied.get((rtype.key, ns, name)) or {}
                live = {k: v for k, v in current.items() if k not in ("metadata", "status")}
                desired = {**current, **(strategic_merge(strategic_merge(live, dropped(previous, body)), body)
                                         if server_side else body)}
                desired["metadata"] = {**current["metadata"], "labels": meta["labels"],
                                       "annotations": {**(current["metadata"].get("annotations") or {}),
                                                       **(meta.get("annotations") or {})}}
                desired["metadata"].pop("resourceVersion", None)
                self.store.update(rtype, desired, ns, name)
            self.applied[(rtype.key, ns, name)] = copy.deepcopy(
                {k: v for k, v in obj.items() if k not in ("metadata", "status")})
            applied.append((rtype.key, ns or "", name))
        return applied

    def replace_inventory(self, uid: str, applied: list[tuple[tuple[str, str], str, str]], prune: bool) -> None:
        """Remember what ``uid`` applied; with ``prune``, delete what it applied before and no longer does."""
        _, previous = self.inventories.get(uid, (prune, []))
        if prune:
            self.delete_objects([entry for entry in previous if entry not in applied])
        self.inventories[uid] = (prune, applied)

    def inventory_present(self, uid: str) -> bool:
        """Whether every object ``uid`` applied still exists."""
        _, entries = self.inventories.get(uid, (False, []))
        for key, namespace, name in entries:
            rtype = self.store.find_type(key[0], None, key[1])
            if rtype is None or self.store.get(rtype, namespace, name) is None:
                return False
        return True

    def delete_objects(self, entries: list[tuple[tuple[str, str], str, str]]) -> None:
        for key, namespace, name in entries:
            rtype = self.store.find_type(key[0], None, key[1])
            if rtype is not None:
                try:
                    self.store.delete(rtype, namespace or None, name)
                except ApiError:
                    pass

    def uninstall_deleted(self) -> None:
        """A deleted HelmRelease is uninstalled; a deleted Kustomization with ``prune`` garbage-collects."""
        alive = {o["metadata"]["uid"] for o in self.store.list_kind(KUSTOMIZE, "kustomizations")}
        alive |= {o["metadata"]["uid"] for o in self.store.list_kind(HELM, "helmreleases")}
        for uid in [u for u in self.inventories if u not in alive]:
            prune, entries = self.inventories.pop(uid)
            if prune:
                self.delete_objects(entries)

    def helm_release(self, release: Obj) -> None:
        spec, meta = release.get("spec") or {}, release["metadata"]
        chart_spec = ((spec.get("chart") or {}).get("spec")) or {}
        reference = chart_spec.get("sourceRef") or spec.get("chartRef") or {}
        chart = chart_spec.get("chart") or reference.get("name", "")
        version = str(chart_spec.get("version") or "0.0.0")
        if self.source(release, reference) is None:
            return self.set_ready(HELM, "helmreleases", release, False, "ArtifactFailed",
                                  f"could not get Source object: {reference.get('kind')} "
                                  f"'{reference.get('namespace') or meta['namespace']}/{reference.get('name')}' not found")
        blocked = self.dependencies_ready(HELM, "helmreleases", release)
        if blocked:
            return self.set_ready(HELM, "helmreleases", release, False, "DependencyNotReady",
                                  f"dependency '{blocked}' is not ready")
        namespace = spec.get("targetNamespace") or meta["namespace"]
        release_name = spec.get("releaseName") or (f"{spec['targetNamespace']}-{meta['name']}"
                                                  if spec.get("targetNamespace") else meta["name"])
        if (spec.get("install") or {}).get("createNamespace") and not self.store.get(self.store.type("", "namespaces"), None, namespace):
            self.store.create(self.store.type("", "namespaces"), {"metadata": {"name": namespace}})
        values = self.release_values(release)
        if isinstance(values, str):
            return self.set_ready(HELM, "helmreleases", release, False, "ValuesError", values)
        installed = meta["uid"] in self.inventories
        history = (release.get("status") or {}).get("history") or []
        digest = hashlib.sha256(repr((chart, version, values)).encode()).hexdigest()[:16]
        if installed and history and history[0].get("configDigest") == digest and self.inventory_present(meta["uid"]):
            # Nothing to upgrade: like helm-controller without drift detection (its default), leave a
            # release's objects as they are, e.g. a Deployment someone scaled.
            return
        try:
            objects = charts.render(chart, version, meta["name"], namespace, values)
            applied = self.apply_all(objects, None, server_side=False, labels={
                "helm.toolkit.fluxcd.io/name": meta["name"], "helm.toolkit.fluxcd.io/namespace": meta["namespace"],
                "app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": f"{chart}-{version}"})
        except ApiError as error:
            return self.set_ready(HELM, "helmreleases", release, False,
                                  "UpgradeFailed" if installed else "InstallFailed", error.message,
                                  lastAttemptedRevision=version)
        self.replace_inventory(meta["uid"], applied, True)
        if not history or history[0].get("configDigest") != digest:
            history = [{"chartName": chart, "chartVersion": version, "configDigest": digest,
                        "name": release_name, "namespace": namespace, "status": "deployed",
                        "version": len(history) + 1}] + history[:4]
        action = "upgrade" if len(history) > 1 else "install"
        self.set_ready(HELM, "helmreleases", release, True, f"{action.capitalize()}Succeeded",
                       f"Helm {action} succeeded for release {namespace}/{release_name}.v{history[0]['version']} "
                       f"with chart {chart}@{version}", lastAppliedRevision=version, lastAttemptedRevision=version,
                       history=history)

    def release_values(self, release: Obj) -> Obj | str:
        """The release's values (``valuesFrom`` merged in order, then ``spec.values``), or why they cannot be read."""
        spec, namespace = release.get("spec") or {}, release["metadata"]["namespace"]
        values: Obj = {}
        for entry in spec.get("valuesFrom") or []:
            kind, name = entry.get("kind"), entry.get("name")
            key = entry.get("valuesKey") or "values.yaml"
            plural = {"ConfigMap": "configmaps", "Secret": "secrets"}.get(kind)
            source = self.store.get(self.store.type("", plural), namespace, name) if plural else None
            raw = ((source or {}).get("data") or {}).get(key)
            if raw is None:
                if entry.get("optional"):
                    continue
                return f"could not resolve {kind} chart values reference '{namespace}/{name}' with key '{key}'"
            text = base64.b64decode(raw).decode() if kind == "Secret" else raw
            values = merge_patch(values, yaml.safe_load(text) or {})
        return merge_patch(values, spec.get("values") or {})
