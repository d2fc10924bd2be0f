"""Fixtures for integration tests: a sandbox per test session, playbook runs, and snapshots of cloud state."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from kubernetes import client

from sandbox.client import Sandbox
from sandbox.writers import kubernetes_client

REPO = Path(__file__).resolve().parents[2]
RECAP = re.compile(r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
                   r"\s+failed=(?P<failed>\d+)", re.MULTILINE)


@dataclass
class PlaybookRun:
    """What one ansible-playbook run printed and how it ended."""

    returncode: int
    output: str

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        """Per-host counters from the PLAY RECAP."""
        return {match["host"]: {key: int(match[key]) for key in ("ok", "changed", "unreachable", "failed")}
                for match in RECAP.finditer(self.output)}

    @property
    def changed(self) -> int:
        return sum(host["changed"] for host in self.recap.values())


def run_playbook(sandbox: Sandbox, inventory: str, playbook: str, *extra: str) -> PlaybookRun:
    """Run a playbook of the collection against the sandbox, as a user would from the checkout."""
    command = [str(Path(sys.executable).with_name("ansible-playbook")), f"playbooks/{playbook}", "-i", inventory,
               "-e", f"@{sandbox.vars_file}", *extra]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env.pop("EKS_HA_TIMELINE_FILE", None)
    completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    return PlaybookRun(completed.returncode, completed.stdout + completed.stderr)


@pytest.fixture(scope="module")
def sandbox(request, tmp_path_factory):
    """A sandbox of the test module's own, seeded from the module's INVENTORY, stopped after its last test. With
    NODE_GROUPS = True in the module, its clusters also get their node groups (playbooks/sites.yml)."""
    inventory = request.module.INVENTORY
    box = Sandbox(tmp_path_factory.mktemp(f"sandbox-{Path(inventory).name}"))
    box.up([inventory])
    if getattr(request.module, "NODE_GROUPS", False):
        try:
            with_node_groups(box, inventory)
        except AssertionError:
            box.down()
            raise
    yield box
    box.down()


def with_node_groups(sandbox: Sandbox, inventory: str | Path) -> None:
    """Give the clusters of a seeded inventory their node groups, as deploy.yml does (the seed makes control planes
    only): playbooks/sites.yml."""
    run = run_playbook(sandbox, str(inventory), "sites.yml")
    assert run.returncode == 0, run.output[-6000:]


def weights(snapshot: dict) -> dict[str, int]:
    """Each site's weight in a route53_snapshot of weighted records."""
    return {record["SetIdentifier"]: record["Weight"] for record in snapshot["records"]}


def ready_pods_per_zone(sandbox: Sandbox, cluster: str, namespace: str, selector: str,
                        node_labels: dict[str, str] | None = None) -> dict[str, int]:
    """How many pods the selector matches are Ready in each zone; every one of them must run on a node carrying
    ``node_labels`` when given."""
    core = client.CoreV1Api(kubernetes_api(sandbox, cluster))
    labels = {n.metadata.name: n.metadata.labels for n in core.list_node().items}
    counted: dict[str, int] = {}
    for pod in core.list_namespaced_pod(namespace, label_selector=selector).items:
        if pod.spec.node_name and any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []):
            node = labels[pod.spec.node_name]
            assert (node_labels or {}).items() <= node.items(), (pod.metadata.name, node)
            zone = node["topology.kubernetes.io/zone"]
            counted[zone] = counted.get(zone, 0) + 1
    return counted


def aws_client(sandbox: Sandbox, service: str, region: str = "us-east-1"):
    """A real boto3 client pointed at the sandbox."""
    return boto3.client(service, region_name=region, endpoint_url=sandbox.endpoint_url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def node_groups(sandbox: Sandbox, cluster: str, region: str) -> dict[str, dict]:
    """A cluster's node groups as AWS and Kubernetes see them: {name: {kind, nodes (their zones)}}. Managed ones are
    EKS node groups whose nodes carry eks.amazonaws.com/nodegroup; self-managed ones Auto Scaling groups (tagged with
    the group's name) whose instances are the nodes carrying eks-ha.resilience/node-group."""
    core = client.CoreV1Api(kubernetes_api(sandbox, cluster))

    def zones(selector: str) -> list[str]:
        return sorted(n.metadata.labels["topology.kubernetes.io/zone"] for n in core.list_node(label_selector=selector).items)

    found = {name: {"kind": "managed", "nodes": zones(f"eks.amazonaws.com/nodegroup={name}")}
             for name in aws_client(sandbox, "eks", region).list_nodegroups(clusterName=cluster)["nodegroups"]}
    for group in aws_client(sandbox, "autoscaling", region).describe_auto_scaling_groups()["AutoScalingGroups"]:
        tags = {t["Key"]: t["Value"] for t in group.get("Tags") or []}
        if f"kubernetes.io/cluster/{cluster}" not in tags or "eks-ha.resilience/node-group" not in tags:
            continue
        name = tags["eks-ha.resilience/node-group"]
        selector = f"eks-ha.resilience/node-group={name}"
        instances = {i["InstanceId"] for i in group["Instances"] if i["LifecycleState"] == "InService"}
        assert {n.spec.provider_id.rsplit("/", 1)[-1] for n in core.list_node(label_selector=selector).items} \
            == instances, (name, instances)
        found[name] = {"kind": "self_managed", "nodes": zones(selector)}
    return found


def route53_snapshot(sandbox: Sandbox, zone_name: str, record_name: str) -> dict:
    """Everything Route 53 holds for one name: its record sets and the configs and tags of their health checks."""
    route53 = aws_client(sandbox, "route53")
    zone = next(z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == zone_name)
    records = [r for r in route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
               if r["Name"].rstrip(".") == record_name]
    checks = {}
    for record in records:
        if "HealthCheckId" in record:
            check = route53.get_health_check(HealthCheckId=record["HealthCheckId"])["HealthCheck"]
            tags = route53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=check["Id"])
            checks[check["Id"]] = {"config": check["HealthCheckConfig"],
                                   "tags": sorted((t["Key"], t["Value"]) for t in tags["ResourceTagSet"]["Tags"])}
    return {"records": sorted(records, key=lambda r: r.get("SetIdentifier", "")), "health_checks": checks}


# What an accelerator's readers see change over time by themselves: deployment status and endpoint health.
VOLATILE_ACCELERATOR_FIELDS = ("Status", "LastModifiedTime", "HealthState", "HealthReason")


def without_volatile(value):
    if isinstance(value, dict):
        return {k: without_volatile(v) for k, v in value.items() if k not in VOLATILE_ACCELERATOR_FIELDS}
    if isinstance(value, list):
        return [without_volatile(v) for v in value]
    return value


def accelerator_snapshot(sandbox: Sandbox, name: str) -> dict | None:
    """An accelerator, its tags, its only listener and that listener's endpoint groups (volatile fields left out)."""
    ga = aws_client(sandbox, "globalaccelerator", "us-west-2")
    accelerator = next((a for a in ga.list_accelerators()["Accelerators"] if a["Name"] == name), None)
    if accelerator is None:
        return None
    arn = accelerator["AcceleratorArn"]
    [listener] = ga.list_listeners(AcceleratorArn=arn)["Listeners"]
    groups = ga.list_endpoint_groups(ListenerArn=listener["ListenerArn"])["EndpointGroups"]
    return without_volatile({
        "accelerator": accelerator,
        "tags": {t["Key"]: t["Value"] for t in ga.list_tags_for_resource(ResourceArn=arn)["Tags"]},
        "listener": listener,
        "endpoint_groups": sorted(groups, key=lambda g: g["EndpointGroupRegion"]),
    })


def kubernetes_api(sandbox: Sandbox, cluster: str) -> client.ApiClient:
    """A kubernetes client for one of the sandbox's clusters (its kubeconfig has a context per cluster)."""
    return kubernetes_client(sandbox, cluster)


# What a workload or configuration object is, apart from what controllers keep updating (status, resourceVersion).
KUBERNETES_KINDS = [("v1", "namespaces"), ("v1", "serviceaccounts"), ("v1", "secrets"), ("v1", "configmaps"),
                    ("v1", "services"), ("apps/v1", "deployments"), ("apps/v1", "daemonsets"),
                    ("networking.k8s.io/v1", "ingresses"), ("apiextensions.k8s.io/v1", "customresourcedefinitions")]


def kubernetes_snapshot(api: client.ApiClient) -> list[tuple]:
    """Every object of the kinds above: identity, generation and the user-set parts (spec, data, annotations)."""
    rows = []
    for api_version, plural in KUBERNETES_KINDS:
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        listing = api.call_api(f"{prefix}/{plural}", "GET", response_type="object", auth_settings=["BearerToken"],
                               _return_http_data_only=True)
        for item in listing["items"]:
            meta = item["metadata"]
            user_set = {key: item.get(key) for key in ("spec", "data", "stringData")}
            rows.append((plural, meta.get("namespace"), meta["name"], meta["uid"], meta.get("generation"),
                         json.dumps([user_set, meta.get("annotations"), meta.get("labels")], sort_keys=True)))
    return sorted(rows, key=lambda row: tuple(str(value) for value in row))


def everything_snapshot(sandbox: Sandbox) -> dict:
    """What a deploy, failover or failback may change: Route 53, Global Accelerator, IAM, load balancers, clusters,
    the GitOps remote."""
    route53 = aws_client(sandbox, "route53")
    accelerators = aws_client(sandbox, "globalaccelerator", "us-west-2").list_accelerators()["Accelerators"]
    iam = aws_client(sandbox, "iam")
    zones = route53.list_hosted_zones()["HostedZones"]
    clusters = {c["name"]: c["region"] for c in sandbox.status()["clusters"]}
    return {
        "records": {z["Name"]: route53.list_resource_record_sets(HostedZoneId=z["Id"])["ResourceRecordSets"]
                    for z in zones},
        "health_checks": sorted((c["Id"], json.dumps(c["HealthCheckConfig"], sort_keys=True))
                                for c in route53.list_health_checks()["HealthChecks"]),
        "accelerators": {a["Name"]: accelerator_snapshot(sandbox, a["Name"]) for a in accelerators},
        "iam_roles": sorted((r["RoleName"], json.dumps(r["AssumeRolePolicyDocument"], sort_keys=True))
                            for r in iam.list_roles()["Roles"]),
        "iam_policies": sorted(p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]),
        "oidc_providers": sorted(p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]),
        "load_balancers": sorted(lb["DNSName"] for region in set(clusters.values())
                                 for lb in aws_client(sandbox, "elbv2", region).describe_load_balancers()["LoadBalancers"]),
        "clusters": {name: kubernetes_snapshot(kubernetes_api(sandbox, name)) for name in clusters},
        "gitops_remote": subprocess.run(["git", "ls-remote", str(sandbox.state_dir / "gitops.git")],
                                        capture_output=True, text=True, check=True).stdout,
    }


def serving_site(sandbox: Sandbox, inventory: str) -> str:
    """Ask the read-only status playbook which site the traffic manager sends users to."""
    status_file = sandbox.state_dir / "status.json"
    run = run_playbook(sandbox, inventory, "status.yml", "-e", f"traffic_status_file={status_file}")
    assert run.returncode == 0, run.output
    return json.loads(status_file.read_text())["serving_site"]


def run_changing_nothing(sandbox: Sandbox, inventory: str, playbook: str, *extra: str) -> PlaybookRun:
    """Run a playbook that must succeed and leave everything as it was (check mode, a second deploy); return it."""
    before = everything_snapshot(sandbox)
    run = run_playbook(sandbox, inventory, playbook, *extra)
    assert run.returncode == 0, run.output
    assert everything_snapshot(sandbox) == before
    return run
