"""The sandbox's Kubernetes API per EKS cluster, through the real kubernetes client and kubernetes.core."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException

from sandbox import Sandbox

from .helpers import crd, ensure, install_flux, ready_deployment, wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTAINER = {"name": "app", "image": "nginx:1.27"}


def eks_token(sandbox: Sandbox, cluster: str, region: str) -> str:
    """A token made the way ``aws eks get-token`` makes it, presigned against the sandbox's STS."""
    session = botocore.session.get_session()
    session.set_credentials("testing", "testing")
    sts = session.create_client("sts", region_name=region, endpoint_url=sandbox.endpoint_url)
    sts.meta.events.register("before-sign.sts.GetCallerIdentity",
                             lambda request, **_: request.headers.__setitem__("x-k8s-aws-id", cluster))
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def api_client(sandbox: Sandbox, cluster: str, region: str, tmp: Path, token: str | None = None) -> client.ApiClient:
    """A client built like the collection builds kubeconfig: endpoint and CA from EKS DescribeCluster."""
    described = sandbox.client("eks", region).describe_cluster(name=cluster)["cluster"]
    ca = tmp / f"{cluster}-ca.crt"
    ca.write_bytes(base64.b64decode(described["certificateAuthority"]["data"]))
    configuration = client.Configuration()
    configuration.host = described["endpoint"]
    configuration.ssl_ca_cert = str(ca)
    configuration.api_key = {"authorization": token or eks_token(sandbox, cluster, region)}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    return client.ApiClient(configuration)


@pytest.fixture(scope="module")
def localzone(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> client.ApiClient:
    return api_client(sandbox, "eks-ha-localzone", "us-east-1", tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def outposts(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> client.ApiClient:
    return api_client(sandbox, "eks-ha-outposts", "us-west-2", tmp_path_factory.mktemp("ca"))


def deployment(name: str, replicas: int = 1, labels: dict[str, str] | None = None, **pod_spec: Any) -> dict[str, Any]:
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [CONTAINER], **pod_spec}}}}


# -- EKS hook-up, auth, discovery -----------------------------------------------------------------


def test_describe_cluster_endpoint_and_ca_work_with_an_eks_token(sandbox: Sandbox, tmp_path: Path) -> None:
    described = sandbox.client("eks", "us-west-2").describe_cluster(name="eks-ha-outposts")["cluster"]
    assert described["status"] == "ACTIVE" and described["endpoint"].startswith("https://127.0.0.1:")
    assert base64.b64decode(described["certificateAuthority"]["data"]).startswith(b"-----BEGIN CERTIFICATE-----")

    api = api_client(sandbox, "eks-ha-outposts", "us-west-2", tmp_path)
    nodes = client.CoreV1Api(api).list_node(label_selector="eks-ha.resilience/node-group=outposts-workers").items
    assert len(nodes) == 2
    labels = nodes[0].metadata.labels
    assert labels["node.kubernetes.io/instance-type"] == "m5.xlarge"
    assert (labels["topology.kubernetes.io/zone"], labels["topology.kubernetes.io/region"]) == ("us-west-2a", "us-west-2")
    assert nodes[0].status.capacity["cpu"] == "4" and int(nodes[0].status.allocatable["pods"]) == 58
    assert client.VersionApi(api).get_code().git_version.startswith("v1.31.")

    with pytest.raises(ApiException) as error:
        client.CoreV1Api(api_client(sandbox, "eks-ha-outposts", "us-west-2", tmp_path, token="not-a-token")).list_node()
    assert error.value.status == 401 and json.loads(error.value.body)["reason"] == "Unauthorized"

    status = sandbox.status()["clusters"]
    assert {c["name"]: c["endpoint"] for c in status}["eks-ha-outposts"] == described["endpoint"]
    kubeconfig = yaml.safe_load(sandbox.kubeconfig.read_text())
    assert {c["name"] for c in kubeconfig["contexts"]} == {"eks-ha-outposts", "eks-ha-localzone"}


def test_discovery_lists_builtins_and_a_runtime_crd(localzone: client.ApiClient) -> None:
    groups = {g.name: g for g in client.ApisApi(localzone).get_api_versions().groups}
    assert {"apps", "networking.k8s.io", "apiextensions.k8s.io", "rbac.authorization.k8s.io",
            "coordination.k8s.io"} <= set(groups)
    resources = {r.name: r for r in client.AppsV1Api(localzone).get_api_resources().resources}
    assert resources["deployments"].short_names == ["deploy"] and resources["deployments"].namespaced
    assert resources["deployments/scale"].kind == "Scale" and "deployments/status" in resources

    ensure(localzone, crd("example.com", "Widget", "widgets", versions=("v1beta1", "v1")))
    assert groups.get("example.com") is None
    group = next(g for g in client.ApisApi(localzone).get_api_versions().groups if g.name == "example.com")
    assert group.preferred_version.version == "v1"
    widgets = dynamic.DynamicClient(localzone).resources.get(api_version="example.com/v1beta1", kind="Widget")
    created = widgets.create(namespace="default", body={"apiVersion": "example.com/v1beta1", "kind": "Widget",
                                                         "metadata": {"generateName": "w-"}, "spec": {"size": 3}})
    assert created.metadata.name.startswith("w-") and len(created.metadata.name) == 7
    assert widgets.get(namespace="default", name=created.metadata.name).spec.size == 3


def test_namespace_lifecycle_and_missing_namespace(localzone: client.ApiClient) -> None:
    core = client.CoreV1Api(localzone)
    core.create_namespace({"metadata": {"name": "lifecycle", "labels": {"team": "a"}}})
    assert core.read_namespace("lifecycle").status.phase == "Active"
    assert [n.metadata.name for n in core.list_namespace(label_selector="team=a").items] == ["lifecycle"]
    core.create_namespaced_config_map("lifecycle", {"metadata": {"name": "settings"}, "data": {"a": "1"}})
    wait_for(lambda: core.list_namespaced_service_account("lifecycle").items)  # the default ServiceAccount
    core.delete_namespace("lifecycle")
    for read in (lambda: core.read_namespace("lifecycle"), lambda: core.read_namespaced_config_map("settings", "lifecycle")):
        with pytest.raises(ApiException) as error:
            read()
        assert error.value.status == 404
    with pytest.raises(ApiException) as error:
        core.create_namespaced_config_map("nowhere", {"metadata": {"name": "x"}})
    body = json.loads(error.value.body)
    assert (body["kind"], body["code"], body["reason"], body["message"]) == (
        "Status", 404, "NotFound", 'namespaces "nowhere" not found')


def replace_with_retry(apps: client.AppsV1Api, name: str, namespace: str, change: Any) -> Any:
    """Read, change and replace a Deployment, again on a Conflict (its controller may write its status in between)."""
    for _attempt in range(10):
        fresh = apps.read_namespaced_deployment(name, namespace)
        change(fresh)
        try:
            return apps.replace_namespaced_deployment(name, namespace, fresh)
        except ApiException as error:
            if error.status != 409:
                raise
    raise AssertionError(f"deployment {namespace}/{name} kept changing under the replace")


def test_create_replace_patch_and_scale(localzone: client.ApiClient) -> None:
    apps = client.AppsV1Api(localzone)
    ensure(localzone, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "crud"}})
    body = deployment("web", replicas=1, env=None)
    body["spec"]["template"]["spec"]["containers"] = [
        {**CONTAINER, "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
        {"name": "sidecar", "image": "busybox"}]
    body["spec"]["template"]["spec"]["hostAliases"] = [{"ip": "10.0.0.1", "hostnames": ["one"]}]
    del body["spec"]["template"]["spec"]["env"]
    created = apps.create_namespaced_deployment("crud", body)
    assert created.metadata.generation == 1 and created.metadata.uid
    with pytest.raises(ApiException) as error:
        apps.create_namespaced_deployment("crud", body)
    assert json.loads(error.value.body)["reason"] == "AlreadyExists"

    replaced = replace_with_retry(apps, "web", "crud", lambda fresh: fresh.metadata.labels.update(tier="front"))
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    created.metadata.labels["tier"] = "stale"
    with pytest.raises(ApiException) as error:
        apps.replace_namespaced_deployment("web", "crud", created)
    assert (error.value.status, json.loads(error.value.body)["reason"]) == (409, "Conflict")

    api = localzone
    path = "/apis/apps/v1/namespaces/crud/deployments/web"

    def patch(content_type: str, patch_body: Any) -> dict[str, Any]:
        answer = api.call_api(path, "PATCH", header_params={"Content-Type": content_type, "Accept": "application/json"},
                              body=patch_body, response_type="object", auth_settings=["BearerToken"],
                              _return_http_data_only=True, query_params=[("fieldManager", "tests")])
        return answer

    merged = patch("application/merge-patch+json", {"metadata": {"labels": {"tier": None, "merge": "yes"}}})
    assert merged["metadata"]["labels"] == {"app": "web", "merge": "yes"}
    patched = patch("application/json-patch+json", [{"op": "replace", "path": "/spec/replicas", "value": 2},
                                                    {"op": "add", "path": "/metadata/annotations", "value": {"j": "p"}}])
    assert patched["spec"]["replicas"] == 2 and patched["metadata"]["generation"] == 2
    with pytest.raises(ApiException) as error:
        patch("application/json-patch+json", [{"op": "test", "path": "/spec/replicas", "value": 9}])
    assert error.value.status == 422
    strategic = patch("application/strategic-merge-patch+json", {"spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": "nginx:1.28", "env": [{"name": "B", "value": "two"}, {"name": "C", "value": "3"}]},
                       {"name": "sidecar", "$patch": "delete"}],
        "hostAliases": [{"ip": "10.0.0.2", "hostnames": ["two"]}]}}}})
    pod_spec = strategic["spec"]["template"]["spec"]
    assert [c["name"] for c in pod_spec["containers"]] == ["app"]
    assert pod_spec["containers"][0]["image"] == "nginx:1.28"
    assert pod_spec["containers"][0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "two"},
                                                {"name": "C", "value": "3"}]
    assert [h["ip"] for h in pod_spec["hostAliases"]] == ["10.0.0.1", "10.0.0.2"]
    applied = patch("application/apply-patch+yaml",  # JSON is YAML: the client sends the dict as JSON
                    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"applied": "yes"}}})
    assert applied["metadata"]["labels"]["applied"] == "yes" and applied["spec"]["replicas"] == 2

    scale = apps.read_namespaced_deployment_scale("web", "crud")
    assert (scale.spec.replicas, scale.status.selector) == (2, "app=web")
    apps.patch_namespaced_deployment_scale("web", "crud", {"spec": {"replicas": 3}})
    assert apps.read_namespaced_deployment("web", "crud").spec.replicas == 3
    wait_for(lambda: (lambda s: (s.replicas, s.updated_replicas, s.ready_replicas) == (3, 3, 3))(
        apps.read_namespaced_deployment("web", "crud").status))  # the rollout is over
    pods = client.CoreV1Api(localzone).list_namespaced_pod("crud", label_selector="app in (web),!absent").items
    assert len(pods) == 3 and all(p.status.phase == "Running" and p.spec.node_name for p in pods)
    assert client.CoreV1Api(localzone).list_namespaced_pod("crud", label_selector="app!=web").items == []
    running = client.CoreV1Api(localzone).list_namespaced_pod("crud", field_selector="status.phase=Running").items
    assert len(running) == 3

    with pytest.raises(ApiException) as error:
        client.CoreV1Api(localzone).create_namespaced_config_map("crud", {"metadata": {}})
    assert (error.value.status, json.loads(error.value.body)["reason"]) == (422, "Invalid")
    with pytest.raises(ApiException) as error:
        api.call_api("/api/v1/namespaces/crud/pods", "PUT", auth_settings=["BearerToken"], body={})
    assert error.value.status == 405


def test_pods_pending_without_fitting_node_and_daemonset(outposts: client.ApiClient) -> None:
    apps, core = client.AppsV1Api(outposts), client.CoreV1Api(outposts)
    ensure(outposts, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "sched"}})
    apps.create_namespaced_deployment("sched", deployment("gpu", 1, nodeSelector={"accelerator": "gpu"}))
    apps.create_namespaced_daemon_set("sched", {**deployment("agent"), "kind": "DaemonSet", "spec": {
        k: v for k, v in deployment("agent")["spec"].items() if k != "replicas"}})

    def unschedulable() -> Any:
        pods = core.list_namespaced_pod("sched", label_selector="app=gpu").items
        return pods and any(c.reason == "Unschedulable" for c in pods[0].status.conditions or [])

    wait_for(unschedulable)
    pod = core.list_namespaced_pod("sched", label_selector="app=gpu").items[0]
    assert pod.status.phase == "Pending" and "node affinity/selector" in pod.status.conditions[0].message
    assert pod.metadata.owner_references[0].kind == "ReplicaSet"
    daemons = wait_for(lambda: (lambda s: s.number_ready == 2 and s)(
        apps.read_namespaced_daemon_set_status("agent", "sched").status))
    assert daemons.desired_number_scheduled == 2
    assert not ready_deployment(outposts, "sched", "gpu")


def test_karpenter_creates_nodes_only_while_running(outposts: client.ApiClient) -> None:
    apps, core = client.AppsV1Api(outposts), client.CoreV1Api(outposts)
    ensure(outposts, crd("karpenter.sh", "NodePool", "nodepools", scope="Cluster"))
    ensure(outposts, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "karpenter"}})
    ensure(outposts, {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "burst"}, "spec": {
        "template": {"metadata": {"labels": {"workload": "burst"}}, "spec": {"requirements": [
            {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["c5.2xlarge"]},
            {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["us-west-2a"]}]}}}})
    apps.create_namespaced_deployment("karpenter", deployment("karpenter", 0, {"app.kubernetes.io/name": "karpenter"}))
    apps.create_namespaced_deployment("karpenter", deployment("burst", 2, nodeSelector={"workload": "burst"}))
    time.sleep(2.5)  # longer than a node launch takes: none may come while Karpenter has no replicas
    assert core.list_node(label_selector="karpenter.sh/nodepool").items == []

    apps.patch_namespaced_deployment_scale("karpenter", "karpenter", {"spec": {"replicas": 2}})
    wait_for(lambda: ready_deployment(outposts, "karpenter", "burst"), timeout=15)
    nodes = core.list_node(label_selector="karpenter.sh/nodepool=burst").items
    assert len(nodes) == 1  # both pods fit one node
    assert nodes[0].metadata.labels["node.kubernetes.io/instance-type"] == "c5.2xlarge"
    assert nodes[0].metadata.labels["topology.kubernetes.io/zone"] == "us-west-2a"


def test_alb_ingress_gets_a_load_balancer(sandbox: Sandbox, localzone: client.ApiClient) -> None:
    apps, networking = client.AppsV1Api(localzone), client.NetworkingV1Api(localzone)
    ensure(localzone, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    ingress = {"metadata": {"name": "front"}, "spec": {"ingressClassName": "alb", "rules": [{"http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "front", "port": {"number": 80}}}}]}}]}}
    networking.create_namespaced_ingress("shop", ingress)
    time.sleep(1.2)  # past the provisioning delay: without the controller nothing happens
    assert networking.read_namespaced_ingress("front", "shop").status.load_balancer.ingress is None
    apps.create_namespaced_deployment("kube-system", deployment("aws-load-balancer-controller", 2))
    hostname = wait_for(lambda: (networking.read_namespaced_ingress("front", "shop").status.load_balancer.ingress
                                 or [None])[0], timeout=15).hostname
    elbv2 = sandbox.client("elbv2", "us-east-1")
    balancer = next(b for b in elbv2.describe_load_balancers()["LoadBalancers"] if b["DNSName"] == hostname)
    assert balancer["LoadBalancerName"].startswith("k8s-shop-front-") and len(balancer["LoadBalancerName"]) <= 32
    assert balancer["Scheme"] == "internet-facing"
    site = next(s for s in sandbox.status()["sites"] if s["name"] == "localzone")
    assert hostname.lower() in site["endpoints"]

    networking.delete_namespaced_ingress("front", "shop")
    wait_for(lambda: all(b["DNSName"] != hostname for b in elbv2.describe_load_balancers()["LoadBalancers"]))


# -- Flux --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flux(localzone: client.ApiClient) -> client.ApiClient:
    """Flux's CRDs and running controllers in flux-system."""
    return install_flux(localzone)


def git(repository: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repository), *args], check=True, capture_output=True, text=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
                               "GIT_COMMITTER_EMAIL": "t@e"}).stdout.strip()


def flux_object(api: client.ApiClient, group_version: str, kind: str, name: str, spec: dict[str, Any]) -> Any:
    resource = dynamic.DynamicClient(api).resources.get(api_version=group_version, kind=kind)
    return resource.create(namespace="flux-system", body={"apiVersion": group_version, "kind": kind,
                                                          "metadata": {"name": name}, "spec": spec})


def ready(api: client.ApiClient, group_version: str, kind: str, name: str) -> Any:
    found = dynamic.DynamicClient(api).resources.get(api_version=group_version, kind=kind).get(
        namespace="flux-system", name=name)
    conditions = (found.to_dict().get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Ready"), None)


def test_flux_kustomization_applies_a_git_repository(flux: client.ApiClient, tmp_path: Path) -> None:
    repository = tmp_path / "fleet"
    (repository / "apps" / "base").mkdir(parents=True)
    (repository / "apps" / "base" / "app.yaml").write_text(yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fleet"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"mode": "base"}},
        deployment("api")]))
    (repository / "apps" / "base" / "kustomization.yaml").write_text(yaml.safe_dump({"resources": ["app.yaml"]}))
    (repository / "apps" / "kustomization.yaml").write_text(yaml.safe_dump({
        "namespace": "fleet", "resources": ["base"],
        "patches": [{"patch": yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
                                              "data": {"mode": "prod"}})},
                    {"target": {"kind": "Deployment", "name": "api"},
                     "patch": yaml.safe_dump([{"op": "replace", "path": "/spec/replicas", "value": 2}])}]}))
    git(repository, "init", "-q", "-b", "main")
    git(repository, "add", ".")
    git(repository, "commit", "-q", "-m", "fleet")
    sha = git(repository, "rev-parse", "HEAD")

    flux_object(flux, "source.toolkit.fluxcd.io/v1", "GitRepository", "fleet",
                {"url": f"file://{repository}", "ref": {"branch": "main"}, "interval": "1m"})
    flux_object(flux, "source.toolkit.fluxcd.io/v1", "GitRepository", "missing",
                {"url": f"file://{tmp_path / 'nope'}", "interval": "1m"})
    flux_object(flux, "kustomize.toolkit.fluxcd.io/v1", "Kustomization", "apps",
                {"sourceRef": {"kind": "GitRepository", "name": "fleet"}, "path": "./apps", "prune": True,
                 "interval": "1m"})
    condition = wait_for(lambda: ready(flux, "kustomize.toolkit.fluxcd.io/v1", "Kustomization", "apps"))
    condition = wait_for(lambda: (lambda c: c and c["status"] == "True" and c)(
        ready(flux, "kustomize.toolkit.fluxcd.io/v1", "Kustomization", "apps")))
    assert condition["message"] == f"Applied revision: main@sha1:{sha}"
    settings = client.CoreV1Api(flux).read_namespaced_config_map("settings", "fleet")
    assert settings.data == {"mode": "prod"}
    assert settings.metadata.labels["kustomize.toolkit.fluxcd.io/name"] == "apps"
    assert client.AppsV1Api(flux).read_namespaced_deployment("api", "fleet").spec.replicas == 2
    failed = wait_for(lambda: ready(flux, "source.toolkit.fluxcd.io/v1", "GitRepository", "missing"))
    assert failed["status"] == "False" and failed["reason"] == "GitOperationFailed"

    # A new commit without the ConfigMap (and its patch): the Kustomization prunes it.
    (repository / "apps" / "base" / "app.yaml").write_text(yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fleet"}}, deployment("api")]))
    (repository / "apps" / "kustomization.yaml").write_text(yaml.safe_dump({"namespace": "fleet", "resources": ["base"]}))
    git(repository, "commit", "-q", "-am", "drop settings")
    wait_for(lambda: not client.CoreV1Api(flux).list_namespaced_config_map(
        "fleet", field_selector="metadata.name=settings").items, timeout=15)


def test_helm_release_installs_the_load_balancer_controller(flux: client.ApiClient) -> None:
    flux_object(flux, "source.toolkit.fluxcd.io/v1", "HelmRepository", "eks", {"url": "https://aws.github.io/eks-charts"})
    flux_object(flux, "helm.toolkit.fluxcd.io/v2", "HelmRelease", "albc", {
        "targetNamespace": "kube-system", "releaseName": "aws-load-balancer-controller",
        "chart": {"spec": {"chart": "aws-load-balancer-controller", "version": "1.8.2",
                           "sourceRef": {"kind": "HelmRepository", "name": "eks"}}},
        "values": {"clusterName": "eks-ha-localzone", "region": "us-east-1", "vpcId": "vpc-1", "replicaCount": 2}})
    condition = wait_for(lambda: (lambda c: c and c["status"] == "True" and c)(
        ready(flux, "helm.toolkit.fluxcd.io/v2", "HelmRelease", "albc")))
    assert condition["reason"] in ("InstallSucceeded", "UpgradeSucceeded")
    installed = client.AppsV1Api(flux).read_namespaced_deployment("aws-load-balancer-controller", "kube-system")
    assert installed.spec.replicas == 2
    assert "--cluster-name=eks-ha-localzone" in installed.spec.template.spec.containers[0].args
    assert installed.spec.template.metadata.labels["app.kubernetes.io/name"] == "aws-load-balancer-controller"


# -- kubernetes.core --------------------------------------------------------------------------------


def ansible(sandbox: Sandbox, module: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run one kubernetes.core module against the outposts cluster through the sandbox kubeconfig."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "localhost", "-m", module, "-a", json.dumps(args), "-o"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "K8S_AUTH_KUBECONFIG": str(sandbox.kubeconfig), "K8S_AUTH_CONTEXT": "eks-ha-outposts",
             "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false"})
    assert " | SUCCESS" in done.stdout or " | CHANGED" in done.stdout, done.stdout + done.stderr
    return json.loads(done.stdout.split("=>", 1)[1])


@pytest.mark.integration
def test_kubernetes_core_modules(sandbox: Sandbox) -> None:
    manifest = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ansible"}},
        {**deployment("hello", 1), "metadata": {"name": "hello", "namespace": "ansible", "labels": {"app": "hello"}}}]}
    created = ansible(sandbox, "kubernetes.core.k8s", {"definition": manifest, "wait": True, "wait_timeout": 30})
    assert created["changed"] is True
    scaled = ansible(sandbox, "kubernetes.core.k8s_scale", {"kind": "Deployment", "name": "hello",
                                                            "namespace": "ansible", "replicas": 3, "wait_timeout": 30})
    assert scaled["changed"] is True
    info = ansible(sandbox, "kubernetes.core.k8s_info", {"kind": "Deployment", "namespace": "ansible",
                                                         "label_selectors": ["app=hello"]})
    assert [r["status"]["readyReplicas"] for r in info["resources"]] == [3]
