"""karpenter_standby and eks_kubeconfig run by Ansible against the Kubernetes API of a sandbox EKS cluster.

The sandbox serves one Kubernetes API per EKS cluster of outpost-lz (DescribeCluster gives its https endpoint and
CA, and it takes tokens made as ``aws eks get-token`` makes them). Its controllers run Deployments, schedule pods on
the nodes of the node groups playbooks/sites.yml makes, and, standing in for Karpenter, create a node for each Pending
unschedulable pod only while a Deployment labelled ``app.kubernetes.io/name: karpenter`` has ready replicas and a
NodePool or Provisioner exists. Node launches take 30 s scaled by the sandbox time scale.

The test setup installs what the Karpenter chart would (CRD, Deployment in ``karpenter``) with the kubernetes client,
and a workload whose pods only fit Karpenter's nodes (a ``karpenter.sh/nodepool`` node selector). The tests run in
file order on one cluster: each step starts from the state the previous one left.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.rest import ApiException

from sandbox.client import Sandbox

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
INVENTORY = REPO / "inventories" / "outpost-lz"
# Its clusters' node groups, as deploy.yml makes them (the seed makes control planes only).
NODE_GROUPS = True
CLUSTER, REGION = "eks-ha-localzone", "us-east-1"
OUTPOST_CLUSTER, OUTPOST_REGION = "eks-ha-outposts", "us-west-2"
WORKLOAD_NAMESPACE = "shop"
WORKLOAD_REPLICAS = 3
LEGACY_REPLICAS = 2
# Longer than a node launch (30 s * time scale 0.05) plus a few controller passes.
QUIET_PERIOD = 3.0
WAIT_TIMEOUT = 60


# -- running module tasks ---------------------------------------------------------------------------


class PlaybookRunner:
    """Run module tasks as one playbook with ansible-playbook from the checkout; return their registered results."""

    def __init__(self, sandbox: Sandbox, workdir: Path):
        self.aws = {"endpoint_url": sandbox.endpoint_url, "access_key": "testing", "secret_key": "testing"}
        self.workdir = workdir
        self.count = 0
        self.output = ""

    def __call__(self, *tasks: dict[str, Any]) -> list[dict[str, Any]]:
        self.count += 1
        result_file = self.workdir / f"results{self.count}.json"
        steps = []
        for index, spec in enumerate(tasks):
            args = dict(spec["args"])
            if spec["aws"]:
                args.update(self.aws)
            steps.append({"name": f"step {index}", f"eks_ha.resilience.{spec['module']}": args,
                          "register": f"step{index}", "ignore_errors": True,
                          "check_mode": spec["check"], "diff": spec["diff"]})
        registered = ", ".join(f"step{index}" for index in range(len(tasks)))
        steps.append({"name": "save results", "check_mode": False, "diff": False,
                      "ansible.builtin.copy": {"content": "{{ [" + registered + "] | to_json }}", "dest": str(result_file)}})
        playbook = self.workdir / f"play{self.count}.yml"
        playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": steps}]))
        command = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local",
                   str(playbook)]
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default",
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable)
        for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL", "KUBECONFIG"):
            env.pop(variable, None)
        completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False,
                                   timeout=600)
        self.output = completed.stdout + completed.stderr
        assert result_file.exists(), self.output
        return json.loads(result_file.read_text())


def task(module: str, args: dict[str, Any], check: bool = False, diff: bool = False, aws: bool = True) -> dict[str, Any]:
    return {"module": module, "args": args, "check": check, "diff": diff, "aws": aws}


def standby(check: bool = False, diff: bool = False, **extra: Any) -> dict[str, Any]:
    return task("karpenter_standby", dict({"eks_cluster": CLUSTER, "region": REGION, "state": "standby",
                                           "wait_timeout": WAIT_TIMEOUT}, **extra), check, diff)


def active(check: bool = False, diff: bool = False, **extra: Any) -> dict[str, Any]:
    return task("karpenter_standby", dict({"eks_cluster": CLUSTER, "region": REGION, "state": "active",
                                           "wait_timeout": WAIT_TIMEOUT}, **extra), check, diff)


# -- the cluster, seen through the kubernetes client --------------------------------------------------


class Cluster:
    """The typed kubernetes APIs of one sandbox cluster, and the objects the tests install."""

    def __init__(self, api: Any):
        self.api = api
        self.core = k8s_client.CoreV1Api(api)
        self.apps = k8s_client.AppsV1Api(api)
        self.extensions = k8s_client.ApiextensionsV1Api(api)
        self.custom = k8s_client.CustomObjectsApi(api)

    def ensure_namespace(self, name: str) -> None:
        try:
            self.core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        except ApiException as e:
            if e.status != 409:
                raise

    def create_crd(self, group: str, version: str, kind: str, plural: str) -> None:
        self.extensions.create_custom_resource_definition({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": "Cluster",
                     "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": kind + "List"},
                     "versions": [{"name": version, "served": True, "storage": True, "subresources": {"status": {}},
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}}}]}})

    def create_deployment(self, namespace: str, name: str, replicas: int, labels: dict[str, str],
                          pod_spec: dict[str, Any]) -> None:
        self.apps.create_namespaced_deployment(namespace, {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": pod_spec}}})

    def replicas(self, namespace: str, name: str) -> int:
        return self.apps.read_namespaced_deployment(name, namespace).spec.replicas

    def ready_replicas(self, namespace: str, name: str) -> int:
        status = self.apps.read_namespaced_deployment(name, namespace).status
        return (status.ready_replicas if status else None) or 0

    def pods(self, namespace: str, selector: str | None = None) -> list[Any]:
        return self.core.list_namespaced_pod(namespace, label_selector=selector).items

    def nodes(self) -> list[Any]:
        return self.core.list_node().items

    def node_names(self) -> set[str]:
        return {node.metadata.name for node in self.nodes()}


def unschedulable(pod: Any) -> bool:
    return pod.status.phase == "Pending" and not pod.spec.node_name and any(
        c.type == "PodScheduled" and c.reason == "Unschedulable" for c in pod.status.conditions or [])


def wait_until(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout} s")
        time.sleep(0.1)


def karpenter_pod_spec() -> dict[str, Any]:
    return {"containers": [{"name": "controller", "image": "public.ecr.aws/karpenter/controller:1.0.0",
                            "resources": {"requests": {"cpu": "250m"}}}],
            # As the chart does: Karpenter runs on the node group, never on the nodes it manages.
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "karpenter.sh/nodepool", "operator": "DoesNotExist"}]}]}}}}


def workload_pod_spec(node_label: str) -> dict[str, Any]:
    # Only a node Karpenter made carries this label: the pods wait for Karpenter.
    return {"nodeSelector": {node_label: "default"},
            "containers": [{"name": "web", "image": "public.ecr.aws/nginx/nginx:1.27",
                            "resources": {"requests": {"cpu": "500m"}}}]}


# -- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(sandbox):
    """The Local Zone cluster with Karpenter installed (2 replicas, as the chart installs it), the NodePool CRD
    without any NodePool, and a workload of 3 pods that only Karpenter's nodes can take."""
    api = k8s_config.new_client_from_config(str(sandbox.kubeconfig), context=CLUSTER)
    kube = Cluster(api)
    kube.ensure_namespace("karpenter")
    kube.ensure_namespace(WORKLOAD_NAMESPACE)
    kube.create_crd("karpenter.sh", "v1", "NodePool", "nodepools")
    kube.create_deployment("karpenter", "karpenter", 2, {"app.kubernetes.io/name": "karpenter"}, karpenter_pod_spec())
    wait_until(lambda: kube.ready_replicas("karpenter", "karpenter") == 2, "Karpenter did not get ready on the node group")
    kube.create_deployment(WORKLOAD_NAMESPACE, "web", WORKLOAD_REPLICAS, {"app": "web"},
                           workload_pod_spec("karpenter.sh/nodepool"))
    wait_until(lambda: sum(unschedulable(p) for p in kube.pods(WORKLOAD_NAMESPACE, "app=web")) == WORKLOAD_REPLICAS,
               "the workload pods were not marked Unschedulable")
    yield kube
    api.close()


@pytest.fixture(scope="module")
def run(sandbox, tmp_path_factory):
    return PlaybookRunner(sandbox, tmp_path_factory.mktemp("karpenter-standby-plays"))


@pytest.fixture(scope="module")
def memo():
    """State one test leaves for a later one (the tests run in file order)."""
    return {}


# -- bad input: one sentence each, nothing changed ----------------------------------------------------

BAD_INPUTS = [
    ("replicas below 1", active(replicas=0),
     "replicas must be at least 1 with state=active, got 0; use state=standby to scale Karpenter to 0."),
    ("outpost site", standby(site_kind="outpost"),
     "site_kind=outpost is refused: Karpenter does not run on AWS Outposts, so an Outposts site has no Karpenter "
     "standby; use site_kind region or local_zone, or keep the Outpost's capacity in its node groups."),
    ("outpost site, other cluster", task("karpenter_standby", {"eks_cluster": OUTPOST_CLUSTER, "region": OUTPOST_REGION,
                                                               "state": "active", "site_kind": "outpost"}),
     "site_kind=outpost is refused: Karpenter does not run on AWS Outposts, so an Outposts site has no Karpenter "
     "standby; use site_kind region or local_zone, or keep the Outpost's capacity in its node groups."),
    ("wait_timeout", standby(wait_timeout=0), "wait_timeout must be at least 1 second, got 0."),
    ("pod_selector", active(pod_selector="app in web"),
     "pod_selector must be a label selector such as app=web or tier in (web,api), got 'app in web': "
     "'app in web' is not a requirement (key=value, key!=value, key in (a,b), key notin (a,b), key, !key)."),
    ("deployment elsewhere", standby(namespace="ops"),
     "Deployment 'karpenter' was not found in namespace ops; set namespace (and deployment) "
     "to where the Karpenter controller runs."),
    ("deployment name", standby(deployment="karpenter-controller"),
     "Deployment 'karpenter-controller' was not found in namespace karpenter or kube-system; set namespace "
     "(and deployment) to where the Karpenter controller runs."),
    ("no NodePool yet", active(),
     "the cluster holds no NodePool (karpenter.sh/v1) and no Provisioner (karpenter.sh/v1alpha5), so Karpenter "
     "would create no nodes; apply one before state=active."),
    ("unknown cluster", task("karpenter_standby", {"eks_cluster": "moon", "region": REGION, "state": "standby"}),
     "EKS cluster 'moon' does not exist in this region; check eks_cluster and region."),
    ("kubeconfig and eks_cluster", standby(kubeconfig="/nonexistent"),
     "parameters are mutually exclusive: kubeconfig|eks_cluster"),
]


def test_bad_inputs_fail_with_one_sentence_and_change_nothing(cluster, run):
    nodes = cluster.node_names()
    results = run(*(spec for _name, spec, _sentence in BAD_INPUTS))
    for (name, _spec, sentence), result in zip(BAD_INPUTS, results):
        assert result.get("failed"), name
        assert result["msg"] == sentence, name
        assert not result["changed"], name
    assert cluster.replicas("karpenter", "karpenter") == 2
    assert cluster.node_names() == nodes


# -- standby ------------------------------------------------------------------------------------------


def test_standby_check_mode_changes_nothing(cluster, run):
    result = run(standby(check=True, diff=True))[0]
    assert not result.get("failed"), result
    assert result["changed"]
    assert result["diff"] == {"before": {"deployment": "karpenter/karpenter", "replicas": 2},
                              "after": {"deployment": "karpenter/karpenter", "replicas": 0}}
    assert (result["replicas_before"], result["replicas"]) == (2, 0)
    assert result["seconds_to_capacity"] is None
    assert cluster.replicas("karpenter", "karpenter") == 2


def test_standby_scales_karpenter_to_zero(cluster, run, memo):
    memo["nodes"] = cluster.node_names()
    result = run(standby(diff=True))[0]
    assert not result.get("failed"), result
    assert result["changed"]
    assert {key: result[key] for key in ("state", "api", "namespace", "deployment", "replicas_before", "replicas")} == {
        "state": "standby", "api": None, "namespace": "karpenter", "deployment": "karpenter", "replicas_before": 2,
        "replicas": 0}
    assert result["pending_pods_before"] == result["pending_pods_after"] == WORKLOAD_REPLICAS
    assert result["nodes"] == result["nodes_before"] == len(memo["nodes"])
    assert result["capacity_ready"] is False
    assert cluster.replicas("karpenter", "karpenter") == 0
    # With wait, the module returned once the Karpenter pods were gone.
    assert cluster.pods("karpenter", "app.kubernetes.io/name=karpenter") == []


def test_standby_again_is_unchanged(cluster, run):
    result = run(standby())[0]
    assert not result.get("failed"), result
    assert not result["changed"]
    assert result["replicas_before"] == result["replicas"] == 0
    assert result["pending_pods_after"] == WORKLOAD_REPLICAS


def test_pods_stay_pending_while_karpenter_is_at_zero(cluster, memo):
    cluster.custom.create_cluster_custom_object("karpenter.sh", "v1", "nodepools", {
        "apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "default"},
        "spec": {"template": {"spec": {"requirements": [
            {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["m5.large"]}]}}}})
    time.sleep(QUIET_PERIOD)
    assert cluster.node_names() == memo["nodes"]
    pods = cluster.pods(WORKLOAD_NAMESPACE, "app=web")
    assert len(pods) == WORKLOAD_REPLICAS and all(unschedulable(p) for p in pods)


# -- active -------------------------------------------------------------------------------------------


def test_active_check_mode_changes_nothing(cluster, run, memo):
    result = run(active(check=True, diff=True))[0]
    assert not result.get("failed"), result
    assert result["changed"]
    assert result["diff"]["after"] == {"deployment": "karpenter/karpenter", "replicas": 2}
    assert result["api"] == "karpenter.sh/v1"
    assert result["seconds_to_capacity"] is None
    assert result["pending_pods_after"] == WORKLOAD_REPLICAS
    time.sleep(QUIET_PERIOD)
    assert cluster.replicas("karpenter", "karpenter") == 0
    assert cluster.node_names() == memo["nodes"]


def test_active_brings_nodes_and_reports_the_time_to_capacity(cluster, run, memo):
    result = run(active(diff=True))[0]
    assert not result.get("failed"), result
    assert result["changed"]
    assert (result["replicas_before"], result["replicas"]) == (0, 2)
    assert result["api"] == "karpenter.sh/v1"
    assert result["pending_pods_before"] == WORKLOAD_REPLICAS
    assert result["pending_pods_after"] == 0
    assert result["capacity_ready"] is True
    assert result["seconds_to_capacity"] > 0
    assert result["nodes_before"] == len(memo["nodes"])
    assert result["nodes"] > result["nodes_before"]
    new_nodes = cluster.node_names() - memo["nodes"]
    assert all(node.metadata.labels.get("karpenter.sh/nodepool") == "default"
               for node in cluster.nodes() if node.metadata.name in new_nodes)
    pods = cluster.pods(WORKLOAD_NAMESPACE, "app=web")
    assert all(p.spec.node_name in new_nodes for p in pods)
    wait_until(lambda: all(p.status.phase == "Running" for p in cluster.pods(WORKLOAD_NAMESPACE, "app=web")),
               "the workload pods did not start on the new nodes", timeout=10)


def test_active_again_is_unchanged_and_still_reports_capacity(cluster, run):
    time.sleep(QUIET_PERIOD)
    result = run(active())[0]
    assert not result.get("failed"), result
    assert not result["changed"]
    assert result["replicas_before"] == result["replicas"] == 2
    assert result["pending_pods_before"] == result["pending_pods_after"] == 0
    assert result["nodes_before"] == result["nodes"] == len(cluster.nodes())
    assert result["capacity_ready"] is True
    assert 0 <= result["seconds_to_capacity"] < 10


def test_pod_selector_scopes_the_pods(cluster, run):
    result = run(active(pod_selector="app=nothing-here", wait=False))[0]
    assert not result.get("failed"), result
    assert not result["changed"]
    assert result["pending_pods_before"] == 0 and result["capacity_ready"] is True
    assert result["seconds_to_capacity"] is None


# -- eks_kubeconfig, and the same module through a kubeconfig --------------------------------------------


def kubeconfig_task(dest: Path, check: bool = False) -> dict[str, Any]:
    return task("eks_kubeconfig", {"eks_cluster": CLUSTER, "region": REGION, "dest": str(dest), "alias": "lz"},
                check=check, diff=True)


def test_eks_kubeconfig_writes_a_working_kubeconfig(sandbox, cluster, run, tmp_path):
    from sandbox.kubernetes.auth import token_is_valid

    dest = tmp_path / "kube" / "config"
    checked = run(kubeconfig_task(dest, check=True))[0]
    assert checked["changed"] and not dest.parent.exists()
    written, again, missing = run(kubeconfig_task(dest), kubeconfig_task(dest),
                                  task("eks_kubeconfig", {"eks_cluster": "moon", "region": REGION, "dest": str(dest)}))
    assert written["changed"] and not again["changed"]
    described = sandbox.client("eks", REGION).describe_cluster(name=CLUSTER)["cluster"]
    for result in (checked, written, again):
        assert {k: result[k] for k in ("endpoint", "ca_data", "context", "dest")} == {
            "endpoint": described["endpoint"], "ca_data": described["certificateAuthority"]["data"],
            "context": "lz", "dest": str(dest)}
    assert missing["failed"] and missing["msg"] == "EKS cluster 'moon' does not exist in this region; check eks_cluster and region."
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    config = yaml.safe_load(dest.read_text())
    token = config["users"][0]["user"]["token"]
    assert token_is_valid(token)
    assert config["current-context"] == "lz"
    # The token reaches neither the results nor the output.
    assert token not in json.dumps([checked, written, again]) and token not in run.output

    via_kubeconfig = run(task("karpenter_standby", {"kubeconfig": str(dest), "context": "lz", "state": "active",
                                                    "wait_timeout": WAIT_TIMEOUT}, aws=False))[0]
    assert not via_kubeconfig.get("failed"), via_kubeconfig
    assert not via_kubeconfig["changed"] and via_kubeconfig["capacity_ready"]


# -- the Provisioner of Karpenter v0.24 ----------------------------------------------------------------


def test_provisioner_variant(cluster, run):
    assert run(standby())[0]["replicas"] == 0
    cluster.custom.delete_cluster_custom_object("karpenter.sh", "v1", "nodepools", "default")
    cluster.extensions.delete_custom_resource_definition("nodepools.karpenter.sh")
    cluster.create_crd("karpenter.sh", "v1alpha5", "Provisioner", "provisioners")
    cluster.custom.create_cluster_custom_object("karpenter.sh", "v1alpha5", "provisioners", {
        "apiVersion": "karpenter.sh/v1alpha5", "kind": "Provisioner", "metadata": {"name": "default"},
        "spec": {"requirements": [{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["m5.large"]}]}})
    cluster.create_deployment(WORKLOAD_NAMESPACE, "legacy", LEGACY_REPLICAS, {"app": "legacy"},
                              workload_pod_spec("karpenter.sh/provisioner-name"))
    wait_until(lambda: sum(unschedulable(p) for p in cluster.pods(WORKLOAD_NAMESPACE, "app=legacy")) == LEGACY_REPLICAS,
               "the legacy pods were not marked Unschedulable")
    nodes = cluster.node_names()
    time.sleep(QUIET_PERIOD)
    assert cluster.node_names() == nodes

    result = run(active(pod_selector="app=legacy"))[0]
    assert not result.get("failed"), result
    assert result["changed"] and result["api"] == "karpenter.sh/v1alpha5"
    assert (result["pending_pods_before"], result["pending_pods_after"]) == (LEGACY_REPLICAS, 0)
    assert result["seconds_to_capacity"] > 0
    assert result["nodes"] > result["nodes_before"] == len(nodes)
    new_nodes = cluster.node_names() - nodes
    assert all(node.metadata.labels.get("karpenter.sh/provisioner-name") == "default"
               for node in cluster.nodes() if node.metadata.name in new_nodes)
    assert run(active(pod_selector="app=legacy"))[0]["changed"] is False


# -- Outposts ------------------------------------------------------------------------------------------


def test_outposts_local_cluster_is_refused(sandbox, run):
    """An EKS local cluster on an Outpost (outpostConfig) is refused before its Kubernetes API is used."""
    eks = sandbox.client("eks", OUTPOST_REGION)
    template = eks.describe_cluster(name=OUTPOST_CLUSTER)["cluster"]
    outpost_arn = "arn:aws:outposts:us-west-2:123456789012:outpost/op-0a1b2c3d4e5f60001"
    try:
        eks.create_cluster(name="eks-ha-outposts-local", version=template["version"], roleArn=template["roleArn"],
                           resourcesVpcConfig={"subnetIds": template["resourcesVpcConfig"]["subnetIds"]},
                           outpostConfig={"outpostArns": [outpost_arn], "controlPlaneInstanceType": "m5.large"})
    except eks.exceptions.ResourceInUseException:
        pass
    described = eks.describe_cluster(name="eks-ha-outposts-local")["cluster"]
    assert described["outpostConfig"]["outpostArns"] == [outpost_arn]
    result = run(task("karpenter_standby", {"eks_cluster": "eks-ha-outposts-local", "region": OUTPOST_REGION,
                                            "state": "standby"}))[0]
    assert result["failed"] and not result["changed"]
    assert result["msg"] == (
        "EKS cluster 'eks-ha-outposts-local' runs on AWS Outposts (it has outpostConfig), where Karpenter does not "
        "run; this module only manages Karpenter in Regions and Local Zones.")
