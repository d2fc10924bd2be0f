"""dms_cutover run by Ansible against the sandbox: two real MariaDB servers, a real DMS task, a cluster of apps.

The sandbox is seeded from the DMS tests' inventory: MariaDB on EC2 in the Boston Local Zone (the home writer)
and RDS for MariaDB in us-east-1. The tests add an EKS cluster whose Deployments ``wordpress`` (home) and
``wordpress-region`` (stand-by) name their database in ``WORDPRESS_DB_HOST``. An ``Application`` thread plays
those apps: while a Deployment has ready replicas it writes rows to the database it names, and keeps every write
the database acknowledged. The cutovers must lose none of them and never let two databases take writes at once.
The tests run in file order and share one sandbox.
"""

from __future__ import annotations

import time
import uuid

import pymysql
import pytest
from kubernetes import client

from sandbox.writers import Application, never_two_writers, table_rows

from ..conftest import kubernetes_api
from .plays import REPO, task

pytestmark = pytest.mark.integration

INVENTORY = REPO / "tests" / "sandbox" / "data_inventory"
REGION, CLUSTER, NAMESPACE = "us-east-1", "eks-ha-data", "wordpress"
PASSWORD = "wordpress99"
TASK = "wordpress-lz-to-region"
HOME, STANDBY = "wordpress", "wordpress-region"


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hosts(sandbox):
    found = {d["site"]: d for d in sandbox.status()["databases"]}
    return {"lz": found["lz"]["aws_host"], "region": found["region"]["aws_host"]}


@pytest.fixture(scope="module")
def endpoints(sandbox):
    """The replication instance and the two endpoints (what deploy creates before the task)."""
    dms = sandbox.client("dms", REGION)
    instance = dms.create_replication_instance(ReplicationInstanceIdentifier="eks-ha-dms",
                                               ReplicationInstanceClass="dms.t3.medium")["ReplicationInstance"]
    arns = {"instance": instance["ReplicationInstanceArn"]}
    for site, kind in (("lz", "source"), ("region", "target")):
        database = next(d for d in sandbox.status()["databases"] if d["site"] == site)
        endpoint = dms.create_endpoint(EndpointIdentifier=f"wordpress-{site}", EndpointType=kind, EngineName="mariadb",
                                       ServerName=database["aws_host"], Port=database["aws_port"], Username="wordpress",
                                       Password=PASSWORD)["Endpoint"]
        arns[kind] = endpoint["EndpointArn"]
    return arns


@pytest.fixture(scope="module")
def api(sandbox):
    """An EKS cluster in the Region site's subnets with two nodes, and its API."""
    ec2, eks, iam = sandbox.client("ec2", REGION), sandbox.client("eks", REGION), sandbox.client("iam", REGION)
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": [
        "eks-ha-data-region-a", "eks-ha-data-region-b"]}])["Subnets"]]
    role = iam.create_role(RoleName="eks-ha-data-cluster", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    eks.create_cluster(name=CLUSTER, version="1.31", roleArn=role, resourcesVpcConfig={"subnetIds": subnets})
    eks.create_nodegroup(clusterName=CLUSTER, nodegroupName="workers", subnets=subnets, nodeRole=role,
                         scalingConfig={"minSize": 2, "maxSize": 2, "desiredSize": 2})
    return kubernetes_api(sandbox, CLUSTER)


@pytest.fixture(scope="module")
def apps(api, hosts):
    """Both WordPress Deployments writing to the home database, and the two password Secrets."""
    core, apps_api = client.CoreV1Api(api), client.AppsV1Api(api)
    core.create_namespace({"metadata": {"name": NAMESPACE}})
    for secret in ("db-instance-pass", "rds-pass"):
        core.create_namespaced_secret(NAMESPACE, {"metadata": {"name": secret}, "stringData": {"password": PASSWORD}})
    for name in (HOME, STANDBY):
        labels = {"app": name}
        apps_api.create_namespaced_deployment(NAMESPACE, {
            "metadata": {"name": name}, "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels}, "spec": {"containers": [{"name": "wordpress", "image": "wordpress:php7.1-apache", "env": [
                    {"name": "WORDPRESS_DB_HOST", "value": hosts["lz"]},
                    {"name": "WORDPRESS_DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-instance-pass", "key": "password"}}}]}]}}}})
    deadline = time.monotonic() + 60
    while not all((apps_api.read_namespaced_deployment(n, NAMESPACE).status or client.V1DeploymentStatus()).ready_replicas
                  for n in (HOME, STANDBY)):
        assert time.monotonic() < deadline, "the applications did not become ready"
        time.sleep(0.2)
    return apps_api


@pytest.fixture(scope="module")
def schema(sandbox):
    database = sandbox.database("eks-ha-lz-db")
    with pymysql.connect(host=database["local_host"], port=database["local_port"], user="wordpress", password=PASSWORD,
                         database="wordpress", autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS posts (id CHAR(32) PRIMARY KEY, body VARCHAR(255))")
        cursor.executemany("INSERT INTO posts VALUES (%s, 'seed')", [(uuid.uuid4().hex,) for _ in range(50)])


def connection():
    return {"region": REGION, "eks_cluster": CLUSTER}


def cutover(state="cutover", applications=None, check=False, diff=False, **extra):
    args = dict(connection(), replication_task=TASK, state=state, metric_period=1, drain_timeout=60,
                applications=applications or [], **extra)
    return task("dms_cutover", args, check=check, diff=diff)


TO_REGION = [{"namespace": NAMESPACE, "deployment": STANDBY, "password_secret": "rds-pass"}]
TO_HOME = [{"namespace": NAMESPACE, "deployment": HOME, "password_secret": "db-instance-pass"},
           {"namespace": NAMESPACE, "deployment": STANDBY, "password_secret": "db-instance-pass"}]


def app_hosts(apps_api):
    return {n: {e.name: e.value for e in apps_api.read_namespaced_deployment(n, NAMESPACE).spec.template.spec.containers[0].env}
            ["WORDPRESS_DB_HOST"] for n in (HOME, STANDBY)}


def task_status(sandbox, identifier=TASK):
    tasks = sandbox.client("dms", REGION).describe_replication_tasks(
        Filters=[{"Name": "replication-task-id", "Values": [identifier]}])["ReplicationTasks"]
    return tasks[0]["Status"] if tasks else None


# -- tests ----------------------------------------------------------------------------------------


def test_bad_input_fails_with_one_sentence(run, apps):
    cases = [
        (dict(state="cutover"), "needs applications"),
        (dict(state="cutover", applications=TO_REGION, max_lag_seconds=-1), "max_lag_seconds must be 0 or more"),
        (dict(state="cutover", applications=TO_REGION, replication_task="nope"), "Replication task nope was not found"),
        (dict(state="replicating", replication_task="nope"), "to create it give source_endpoint_arn"),
        (dict(state="replicating", replication_task="nope", source_endpoint_arn="arn:aws:dms:us-east-1:123456789012:endpoint:A",
              target_endpoint_arn="arn:aws:dms:us-east-1:123456789012:endpoint:B", schemas=["wordpress"],
              replication_instance="no-such-instance"), "Replication instance no-such-instance (replication_instance) was not found"),
        (dict(state="replicating", replication_instance="a", replication_instance_arn="b"), "mutually exclusive"),
    ]
    play = run.parallel("dms_cutover", [dict(connection(), **dict({"replication_task": TASK}, **args)) for args, _ in cases])
    for (args, sentence), result in zip(cases, play.results):
        assert result.get("failed") and sentence in result["msg"], (args, result.get("msg"))


def test_replicating_creates_and_starts_the_task(run, sandbox, endpoints, schema, apps):
    args = dict(source_endpoint_arn=endpoints["source"], target_endpoint_arn=endpoints["target"],
                replication_instance_arn=endpoints["instance"], schemas=["wordpress"])
    planned = run(cutover("replicating", check=True, **args))[0]
    assert planned["changed"] and task_status(sandbox) is None
    created, again = run(cutover("replicating", **args), cutover("replicating", **args)).results
    assert created["changed"] and created["task_status"] == "running", created
    assert not again["changed"]
    deadline = time.monotonic() + 30
    while table_rows(sandbox, "posts", PASSWORD, "eks-ha-region-db") != table_rows(sandbox, "posts", PASSWORD, "eks-ha-lz-db"):
        assert time.monotonic() < deadline, "the full load did not copy the rows"
        time.sleep(0.2)


def test_replicating_points_the_applications_at_the_source(run, sandbox, apps, hosts):
    """What deploy ensures: every app writes to the home database; replicas are left alone; then nothing changes."""
    point_at = [{"op": "replace", "path": "/spec/template/spec/containers/0/env/0/value", "value": "elsewhere.example"}]
    apps.patch_namespaced_deployment(STANDBY, NAMESPACE, point_at)
    planned = run(cutover("replicating", applications=TO_HOME, check=True, diff=True))[0]
    assert planned["changed"] and planned["actions"] == [f"Point {NAMESPACE}/{STANDBY} at {hosts['lz']}."], planned
    assert app_hosts(apps)[STANDBY] == "elsewhere.example"
    pointed, again = run(cutover("replicating", applications=TO_HOME), cutover("replicating", applications=TO_HOME)).results
    assert pointed["changed"] and pointed["writer_after"] == hosts["lz"], pointed
    assert app_hosts(apps) == {HOME: hosts["lz"], STANDBY: hosts["lz"]} and not again["changed"]
    assert apps.read_namespaced_deployment(STANDBY, NAMESPACE).spec.replicas == 1


def test_cutover_is_refused_over_the_lag_budget(run, sandbox, apps, hosts):
    sandbox.dms_delay(0.5)
    writer = Application(sandbox, apps.api_client, NAMESPACE, "posts", PASSWORD)
    writer.start()
    try:
        time.sleep(4)  # ~200 writes queue up behind a half-second apply delay
        refused = run(cutover(applications=TO_REGION, max_lag_seconds=1))[0]
    finally:
        writer.stop()
        sandbox.dms_delay(0)
    assert refused["failed"] and "above max_lag_seconds 1" in refused["msg"] and "nothing was changed" in refused["msg"]
    assert app_hosts(apps) == {HOME: hosts["lz"], STANDBY: hosts["lz"]} and task_status(sandbox) == "running"


def test_check_mode_shows_the_plan(run, sandbox, apps, hosts):
    planned = run(cutover(applications=TO_REGION, check=True, diff=True, max_lag_seconds=600))[0]
    assert planned["changed"] and not planned.get("failed"), planned
    assert planned["writer_before"] == hosts["lz"] and planned["writer_after"] == hosts["region"]
    assert planned["diff"]["after"]["applications"][f"{NAMESPACE}/{STANDBY}"] == hosts["region"]
    assert app_hosts(apps)[STANDBY] == hosts["lz"] and task_status(sandbox) == "running"


def test_failover_loses_no_acknowledged_write(run, sandbox, apps, hosts):
    writer = Application(sandbox, apps.api_client, NAMESPACE, "posts", PASSWORD)
    writer.start()
    time.sleep(2)
    try:
        result = run(cutover(applications=TO_REGION, max_lag_seconds=600))[0]
        time.sleep(2)  # the stand-by app writes to its new database
    finally:
        writer.stop()
    assert result["changed"] and not result.get("failed"), result
    assert result["rpo_seconds"] == 0 and {"quiesce", "drain", "stop", "repoint", "rollout"} <= set(result["timings"])
    assert app_hosts(apps)[STANDBY] == hosts["region"] and task_status(sandbox) == "stopped"
    assert apps.read_namespaced_deployment(HOME, NAMESPACE).spec.replicas == 0
    acknowledged = {row for _host, row, _sent, _ack in writer.acknowledged}
    assert {h for h, *_ in writer.acknowledged} == {hosts["lz"], hosts["region"]}
    assert acknowledged <= table_rows(sandbox, "posts", PASSWORD, "eks-ha-region-db")
    assert never_two_writers(writer.acknowledged) == 1
    assert not run(cutover(applications=TO_REGION))[0]["changed"]


def test_failback_reverses_replication_and_loses_nothing(run, sandbox, apps, hosts):
    writer = Application(sandbox, apps.api_client, NAMESPACE, "posts", PASSWORD)
    writer.start()
    time.sleep(2)
    try:
        result = run(cutover("reverse", applications=TO_HOME, max_lag_seconds=600))[0]
        time.sleep(2)
    finally:
        writer.stop()
    assert result["changed"] and not result.get("failed"), result
    assert any("reverse" in a and "cdc from" in a for a in result["actions"])
    assert app_hosts(apps) == {HOME: hosts["lz"], STANDBY: hosts["lz"]}
    assert apps.read_namespaced_deployment(HOME, NAMESPACE).spec.replicas == 1  # as before its quiesce
    assert task_status(sandbox) == "running" and task_status(sandbox, f"{TASK}-reverse") == "stopped"
    assert {row for _h, row, *_ in writer.acknowledged} <= table_rows(sandbox, "posts", PASSWORD, "eks-ha-lz-db")
    assert never_two_writers(writer.acknowledged) == 1
    assert not run(cutover("reverse", applications=TO_HOME))[0]["changed"]


def test_second_round_resumes_the_stopped_tasks(run, sandbox, apps, hosts):
    """A second failover and failback: the reverse task exists and restarts with resume-processing."""
    over = run(cutover(applications=TO_REGION, max_lag_seconds=600))[0]
    back = run(cutover("reverse", applications=TO_HOME, max_lag_seconds=600))[0]
    assert over["changed"] and back["changed"], (over, back)
    assert any(f"Start replication task {TASK}-reverse with resume-processing" in a for a in back["actions"])
    assert any(f"Start replication task {TASK} with resume-processing" in a for a in back["actions"])
    assert table_rows(sandbox, "posts", PASSWORD, "eks-ha-lz-db") == table_rows(sandbox, "posts", PASSWORD, "eks-ha-region-db")
