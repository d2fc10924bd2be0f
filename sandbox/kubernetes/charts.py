"""What a HelmRelease installs in the sandbox: the workloads of the charts the collection deploys.

``aws-load-balancer-controller``: ServiceAccount, Deployment (``replicaCount``, default 2) and IngressClass
``alb``. ``karpenter``: the NodePool/NodeClaim/EC2NodeClass CRDs, ServiceAccount and Deployment
(``replicas``, default 2; kept off Karpenter's own nodes as the chart's default affinity does). Any other
chart: one Deployment named after the release (``replicaCount``, default 1).
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def render(chart: str, version: str, release: str, namespace: str, values: Obj) -> list[Obj]:
    """The objects the chart installs for ``release`` in ``namespace`` with ``values``."""
    if chart == "aws-load-balancer-controller":
        return load_balancer_controller(version, release, namespace, values)
    if chart == "karpenter":
        return karpenter(version, release, namespace, values)
    image = values.get("image") or {}
    return [deployment(release, namespace, chart, release, values.get("replicaCount", 1),
                       f"{image.get('repository', chart)}:{image.get('tag', version or 'latest')}", [], values)]


def deployment(name: str, namespace: str, app: str, release: str, replicas: int, image: str, args: list[str],
               values: Obj, affinity: Obj | None = None) -> Obj:
    labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": release}
    pod_spec: Obj = {"containers": [{"name": app, "image": image, "args": args}],
                     "serviceAccountName": (values.get("serviceAccount") or {}).get("name") or name}
    for key in ("nodeSelector", "tolerations", "priorityClassName"):
        if values.get(key):
            pod_spec[key] = values[key]
    if values.get("affinity") or affinity:
        pod_spec["affinity"] = values.get("affinity") or affinity
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec}}}


def service_account(name: str, namespace: str, values: Obj) -> list[Obj]:
    account = values.get("serviceAccount") or {}
    if account.get("create", True) is False:
        return []
    return [{"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": account.get("name") or name, "namespace": namespace,
                          "annotations": account.get("annotations") or {}}}]


def load_balancer_controller(version: str, release: str, namespace: str, values: Obj) -> list[Obj]:
    name = "aws-load-balancer-controller"
    args = [f"--cluster-name={values['clusterName']}"] if values.get("clusterName") else []
    args.append(f"--ingress-class={values.get('ingressClass', 'alb')}")
    args += [f"--aws-region={values['region']}"] if values.get("region") else []
    args += [f"--aws-vpc-id={values['vpcId']}"] if values.get("vpcId") else []
    image = values.get("image") or {}
    objects = service_account(name, namespace, values) + [deployment(
        name, namespace, name, release, values.get("replicaCount", 2),
        f"{image.get('repository', 'public.ecr.aws/eks/aws-load-balancer-controller')}:{image.get('tag', 'v2.8.2')}",
        args, values)]
    if values.get("createIngressClassResource", True):
        objects.append({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                        "metadata": {"name": values.get("ingressClass", "alb")},
                        "spec": {"controller": "ingress.k8s.aws/alb"}})
    return objects


def karpenter(version: str, release: str, namespace: str, values: Obj) -> list[Obj]:
    settings = values.get("settings") or {}
    image = (values.get("controller") or {}).get("image") or {}
    args = [f"--cluster-name={settings['clusterName']}"] if settings.get("clusterName") else []
    # The chart keeps Karpenter off the nodes it manages.
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "karpenter.sh/nodepool", "operator": "DoesNotExist"}]}]}}}
    return [crd("karpenter.sh", "NodePool", "nodepools", "Cluster"),
            crd("karpenter.sh", "NodeClaim", "nodeclaims", "Cluster"),
            crd("karpenter.k8s.aws", "EC2NodeClass", "ec2nodeclasses", "Cluster"),
            *service_account("karpenter", namespace, values),
            deployment("karpenter", namespace, "karpenter", release, values.get("replicas", 2),
                       f"{image.get('repository', 'public.ecr.aws/karpenter/controller')}:{image.get('tag', version or '1.0.0')}",
                       args, values, affinity)]


def crd(group: str, kind: str, plural: str, scope: str, version: str = "v1") -> Obj:
    """A CustomResourceDefinition with an open schema and a status subresource."""
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": scope,
                     "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
                     "versions": [{"name": version, "served": True, "storage": True,
                                   "subresources": {"status": {}},
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}}}]}}
