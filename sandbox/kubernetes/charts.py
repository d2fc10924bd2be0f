"""What a HelmRelease installs in the sandbox: the workloads of the charts the collection deploys.

``aws-load-balancer-controller``: ServiceAccount, Deployment (``replicaCount``, default 2) and IngressClass
``alb``. ``karpenter``: the NodePool/NodeClaim/EC2NodeClass CRDs, ServiceAccount and Deployment
(``replicas``, default 2; kept off Karpenter's own nodes as the chart's default affinity does).
``aws-efs-csi-driver``: ServiceAccounts ``efs-csi-controller-sa`` and ``efs-csi-node-sa``, Deployment
``efs-csi-controller`` (``controller.replicaCount``, default 2), DaemonSet ``efs-csi-node`` (``node.hostAliases``
``{fs-id: {ip, region}}`` become the pods' ``hostAliases`` for ``<fs-id>.efs.<region>.amazonaws.com``, as the
chart's template renders them; ``node.nodeSelector``, ``node.tolerations``, ``node.affinity``), CSIDriver
``efs.csi.aws.com`` and the ``storageClasses``; the chart's defaults are merged under the values as Helm does.
Any other chart: one Deployment named after the release (``replicaCount``, default 1).
"""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]

EFS_CSI_DRIVER = "aws-efs-csi-driver"
EFS_CSI_DRIVER_NAME = "efs.csi.aws.com"
# What a Go template prints for a missing map key (``{{ $v.region }}`` of an alias without a region).
NO_VALUE = "<no value>"
# The chart's values.yaml, as far as the objects rendered here read it.
EFS_CSI_DRIVER_DEFAULTS: Obj = {
    "image": {"repository": "public.ecr.aws/efs-csi-driver/amazon/aws-efs-csi-driver", "tag": "v3.4.1"},
    "sidecars": {
        "livenessProbe": {"image": {"repository": "public.ecr.aws/csi-components/livenessprobe",
                                    "tag": "v2.19.0-eksbuild.3"}},
        "nodeDriverRegistrar": {"image": {"repository": "public.ecr.aws/csi-components/csi-node-driver-registrar",
                                          "tag": "v2.17.0-eksbuild.3"}},
        "csiProvisioner": {"image": {"repository": "public.ecr.aws/csi-components/csi-provisioner",
                                     "tag": "v6.3.0-eksbuild.2"}},
    },
    "controller": {
        "create": True, "name": "efs-csi-controller", "replicaCount": 2, "logLevel": 2,
        "priorityClassName": "system-cluster-critical", "nodeSelector": {}, "affinity": {},
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"},
                        {"key": "efs.csi.aws.com/agent-not-ready", "operator": "Exists"}],
        "serviceAccount": {"create": True, "name": "efs-csi-controller-sa", "annotations": {}},
    },
    "node": {
        "logLevel": 2, "hostAliases": {}, "priorityClassName": "system-node-critical", "dnsPolicy": "ClusterFirst",
        "nodeSelector": {}, "tolerations": [{"operator": "Exists"}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "eks.amazonaws.com/compute-type", "operator": "NotIn",
                                   "values": ["fargate", "hybrid"]}]}]}}},
        "serviceAccount": {"create": True, "name": "efs-csi-node-sa", "annotations": {}},
    },
    "storageClasses": [],
    "useHelmHooksForCSIDriver": True,
}


def render(chart: str, version: str, release: str, namespace: str, values: Obj) -> list[Obj]:
    """The objects the chart installs for ``release`` in ``namespace`` with ``values``."""
    if chart == "aws-load-balancer-controller":
        return load_balancer_controller(version, release, namespace, values)
    if chart == "karpenter":
        return karpenter(version, release, namespace, values)
    if chart == EFS_CSI_DRIVER:
        return efs_csi_driver(release, namespace, with_defaults(EFS_CSI_DRIVER_DEFAULTS, values))
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


def with_defaults(defaults: Obj, values: Obj) -> Obj:
    """Helm's coalescing of a chart's defaults with user values: maps merge, a null removes the default."""
    merged = copy.deepcopy(defaults)
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = with_defaults(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def efs_csi_driver(release: str, namespace: str, values: Obj) -> list[Obj]:
    controller, node = values["controller"], values["node"]
    objects = efs_service_account(controller, namespace) + efs_service_account(node, namespace)
    if controller.get("create"):
        objects.append(efs_controller(release, namespace, values))
    objects += [efs_node(release, namespace, values), efs_csi_driver_object(values)]
    return objects + [efs_storage_class(storage_class) for storage_class in values.get("storageClasses") or []]


def efs_labels(app: str, release: str) -> Obj:
    return {"app": app, "app.kubernetes.io/name": EFS_CSI_DRIVER, "app.kubernetes.io/instance": release}


def efs_image(values: Obj, sidecar: str | None = None) -> str:
    image = values["sidecars"][sidecar]["image"] if sidecar else values["image"]
    return f"{image['repository']}:{image['tag']}"


def efs_service_account(component: Obj, namespace: str) -> list[Obj]:
    account = component["serviceAccount"]
    if not account.get("create"):
        return []
    metadata: Obj = {"name": account["name"], "namespace": namespace,
                     "labels": {"app.kubernetes.io/name": EFS_CSI_DRIVER}}
    if account.get("annotations"):
        metadata["annotations"] = account["annotations"]
    return [{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata}]


def efs_workload(kind: str, name: str, namespace: str, labels: Obj, pod_spec: Obj, extra: Obj) -> Obj:
    return {"apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/name": EFS_CSI_DRIVER}},
            "spec": {**extra, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec}}}


def efs_pod_placement(component: Obj) -> Obj:
    """nodeSelector (always ``kubernetes.io/os: linux``), affinity and tolerations of a component's pods."""
    placement: Obj = {"nodeSelector": {"kubernetes.io/os": "linux", **(component.get("nodeSelector") or {})}}
    for key in ("affinity", "tolerations"):
        if component.get(key):
            placement[key] = component[key]
    return placement


def efs_controller(release: str, namespace: str, values: Obj) -> Obj:
    controller = values["controller"]
    level = f"--v={controller['logLevel']}"
    pod_spec = {**efs_pod_placement(controller), "serviceAccountName": controller["serviceAccount"]["name"],
                "priorityClassName": controller["priorityClassName"], "containers": [
                    {"name": "efs-plugin", "image": efs_image(values),
                     "args": ["--endpoint=$(CSI_ENDPOINT)", "--logtostderr", level]},
                    {"name": "csi-provisioner", "image": efs_image(values, "csiProvisioner"),
                     "args": ["--csi-address=$(ADDRESS)", level, "--feature-gates=Topology=true", "--leader-election"]},
                    {"name": "liveness-probe", "image": efs_image(values, "livenessProbe"),
                     "args": ["--csi-address=/csi/csi.sock", "--health-port=9909"]}]}
    return efs_workload("Deployment", controller["name"], namespace, efs_labels(controller["name"], release), pod_spec,
                        {"replicas": controller["replicaCount"]})


def efs_host_aliases(aliases: Obj) -> list[Obj]:
    """``node.hostAliases`` as the chart's template renders it: one entry per file system, in key order."""
    return [{"ip": alias.get("ip", NO_VALUE),
             "hostnames": [f"{file_system}.efs.{alias.get('region', NO_VALUE)}.amazonaws.com"]}
            for file_system, alias in sorted(aliases.items())]


def efs_node(release: str, namespace: str, values: Obj) -> Obj:
    node = values["node"]
    level = f"--v={node['logLevel']}"
    pod_spec: Obj = {"hostAliases": efs_host_aliases(node["hostAliases"])} if node.get("hostAliases") else {}
    pod_spec.update(efs_pod_placement(node), hostNetwork=True, dnsPolicy=node["dnsPolicy"],
                    serviceAccountName=node["serviceAccount"]["name"], priorityClassName=node["priorityClassName"])
    pod_spec["containers"] = [
        {"name": "efs-plugin", "image": efs_image(values), "securityContext": {"privileged": True},
         "args": ["--endpoint=$(CSI_ENDPOINT)", "--logtostderr", level]},
        {"name": "csi-driver-registrar", "image": efs_image(values, "nodeDriverRegistrar"),
         "args": ["--csi-address=$(ADDRESS)", "--kubelet-registration-path=$(DRIVER_REG_SOCK_PATH)", level]},
        {"name": "liveness-probe", "image": efs_image(values, "livenessProbe"),
         "args": ["--csi-address=/csi/csi.sock", "--health-port=9809", level]}]
    return efs_workload("DaemonSet", "efs-csi-node", namespace, efs_labels("efs-csi-node", release), pod_spec, {})


def efs_csi_driver_object(values: Obj) -> Obj:
    annotations = {"helm.sh/resource-policy": "keep"}
    if values.get("useHelmHooksForCSIDriver"):
        annotations.update({"helm.sh/hook": "pre-install, pre-upgrade",
                            "helm.sh/hook-delete-policy": "before-hook-creation"})
    return {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver",
            "metadata": {"name": EFS_CSI_DRIVER_NAME, "annotations": annotations}, "spec": {"attachRequired": False}}


def efs_storage_class(storage_class: Obj) -> Obj:
    rendered: Obj = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                     "metadata": {"name": storage_class["name"], "annotations": storage_class.get("annotations") or {}},
                     "provisioner": EFS_CSI_DRIVER_NAME}
    for key in ("mountOptions", "parameters", "reclaimPolicy", "volumeBindingMode"):
        if storage_class.get(key):
            rendered[key] = storage_class[key]
    return rendered


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
