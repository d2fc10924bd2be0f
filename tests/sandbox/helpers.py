"""What several sandbox test files need: polling, and Kubernetes objects created through the dynamic client."""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException

FLUX_CRDS = (
    ("source.toolkit.fluxcd.io", "GitRepository", "gitrepositories", ("v1", "v1beta2")),
    ("source.toolkit.fluxcd.io", "HelmRepository", "helmrepositories", ("v1", "v1beta2")),
    ("kustomize.toolkit.fluxcd.io", "Kustomization", "kustomizations", ("v1", "v1beta2")),
    ("helm.toolkit.fluxcd.io", "HelmRelease", "helmreleases", ("v2", "v2beta1")),
)
FLUX_CONTROLLERS = ("source-controller", "kustomize-controller", "helm-controller")


def wait_for(condition: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll until ``condition()`` is truthy and return it (fail the test on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.05)


def seconds_until(condition: Callable[[], Any], timeout: float = 10.0) -> float:
    """Poll until ``condition()`` holds; return the seconds it took (fail the test on timeout)."""
    started = time.monotonic()
    wait_for(condition, timeout)
    return time.monotonic() - started


def crd(group: str, kind: str, plural: str, versions: tuple[str, ...] = ("v1",), scope: str = "Namespaced") -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": scope, "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
                     "versions": [{"name": v, "served": True, "storage": i == 0, "subresources": {"status": {}},
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}}}
                                  for i, v in enumerate(versions)]}}


def ensure(api: client.ApiClient, body: dict[str, Any], namespace: str | None = None) -> Any:
    """Create ``body`` unless it exists (namespaces, CRDs and Flux are shared by several tests)."""
    resource = dynamic.DynamicClient(api).resources.get(api_version=body["apiVersion"], kind=body["kind"])
    try:
        return resource.create(body=body, namespace=namespace)
    except ApiException as error:
        if error.status != 409:
            raise
        return resource.get(name=body["metadata"]["name"], namespace=namespace)


def ready_deployment(api: client.ApiClient, namespace: str, name: str) -> bool:
    status = client.AppsV1Api(api).read_namespaced_deployment_status(name, namespace).status
    return status is not None and (status.ready_replicas or 0) > 0


def install_flux(api: client.ApiClient) -> client.ApiClient:
    """Flux's CRDs and its three controllers running in flux-system (what the sandbox's Flux waits for)."""
    for group, kind, plural, versions in FLUX_CRDS:
        ensure(api, crd(group, kind, plural, versions))
    ensure(api, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}})
    for name in FLUX_CONTROLLERS:
        labels = {"app": name}
        ensure(api, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
                     "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
                         "metadata": {"labels": labels}, "spec": {"containers": [{"name": "manager", "image": f"fluxcd/{name}"}]}}}},
               "flux-system")
    for name in FLUX_CONTROLLERS:
        wait_for(lambda: ready_deployment(api, "flux-system", name))
    return api
