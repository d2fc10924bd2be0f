"""lz-region end to end on the sandbox: a Local Zone site failing over to the Region with its data.

One cluster serves both sites: ``wordpress`` runs In the Local Zone, ``wordpress-region`` NotIn it, both on one EFS
file system that Local Zone nodes reach through the CSI driver's hostAliases. MariaDB on EC2 in the Local Zone is
the writer, replicated to RDS by DMS. A thread plays the app while the playbooks run: every write a database
acknowledged must be on the writer afterwards, and the writes never interleave between the two databases.
The tests run in file order and share one sandbox: each step starts from the state the previous one left.
"""

from __future__ import annotations

import time

import pytest
from kubernetes import client

from sandbox.writers import Application, create_table, never_two_writers, table_rows

from .conftest import aws_client, kubernetes_api, node_groups, route53_snapshot, run_changing_nothing, run_playbook, serving_site

pytestmark = pytest.mark.integration

INVENTORY = "inventories/lz-region"
ZONE, NAME = "example.org", "blog.example.org"
CLUSTER, NAMESPACE, TASK = "eks-ha-lz-region", "wordpress", "wordpress-lz-to-region"
HOME_DB, STANDBY_DB, PASSWORD, TABLE = "eks-ha-lz-db", "eks-ha-region-db", "wordpress99", "wp_posts"


@pytest.fixture(scope="module")
def existing_site(sandbox):
    """The Local Zone site's WordPress already has posts (DMS refuses a schema without tables)."""
    create_table(sandbox, HOME_DB, TABLE, PASSWORD, rows=100)


def data_state(sandbox) -> dict:
    """What the data tier and traffic look like: records, each app's database and replicas, tasks, EFS, aliases."""
    api = kubernetes_api(sandbox, CLUSTER)
    apps = {}
    for deployment in client.AppsV1Api(api).list_namespaced_deployment(NAMESPACE).items:
        env = {e.name: e.value or e.value_from.secret_key_ref.name for e in deployment.spec.template.spec.containers[0].env}
        apps[deployment.metadata.name] = {"replicas": deployment.spec.replicas, "env": env,
                                          "annotations": deployment.metadata.annotations or {},
                                          "affinity": deployment.spec.template.spec.affinity.to_dict()}
    dms = aws_client(sandbox, "dms")
    efs = aws_client(sandbox, "efs")
    file_systems = efs.describe_file_systems()["FileSystems"]
    aliases = client.CoreV1Api(api).read_namespaced_config_map("aws-efs-csi-driver-host-aliases", "kube-system").data
    return {
        "records": route53_snapshot(sandbox, ZONE, NAME),
        "apps": apps,
        "tasks": {t["ReplicationTaskIdentifier"]: t["Status"] for t in dms.describe_replication_tasks()["ReplicationTasks"]},
        "endpoints": sorted((e["EndpointIdentifier"], e["ServerName"]) for e in dms.describe_endpoints()["Endpoints"]),
        "efs": sorted((m["AvailabilityZoneName"], m["IpAddress"]) for fs in file_systems
                      for m in efs.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]),
        "aliases": aliases,
    }


def pods(sandbox) -> dict[str, list[tuple[str, str]]]:
    """Each app's pods as (phase, zone of its node)."""
    api = client.CoreV1Api(kubernetes_api(sandbox, CLUSTER))
    zones = {n.metadata.name: n.metadata.labels["topology.kubernetes.io/zone"] for n in api.list_node().items}
    found: dict[str, list[tuple[str, str]]] = {}
    for pod in api.list_namespaced_pod(NAMESPACE).items:
        app = pod.metadata.labels["app.kubernetes.io/name"]
        found.setdefault(app, []).append((pod.status.phase, zones.get(pod.spec.node_name or "", "")))
    return found


def wait_for_the_pair(sandbox, timeout=60):
    """Until each app runs one pod on its own side of the Local Zone's border."""
    deadline = time.monotonic() + timeout
    while True:
        found = pods(sandbox)
        if (found.get("wordpress") == [("Running", "us-east-1-bos-1a")]
                and [(phase, zone.startswith("us-east-1-bos")) for phase, zone in found.get("wordpress-region", [])]
                == [("Running", False)]):
            return
        assert time.monotonic() < deadline, found
        time.sleep(0.5)


def test_deploy_check_mode_on_a_new_account_changes_nothing(sandbox, existing_site):
    run_changing_nothing(sandbox, INVENTORY, "deploy.yml", "--check", "--diff")


@pytest.fixture(scope="module")
def deployed(sandbox, existing_site):
    run = run_playbook(sandbox, INVENTORY, "deploy.yml")
    assert run.returncode == 0, run.output
    wait_for_the_pair(sandbox)
    return data_state(sandbox)


def test_deploy_pins_the_pair_and_replicates_the_home_database(sandbox, deployed):
    home = sandbox.database(HOME_DB)["aws_host"]
    assert deployed["tasks"] == {TASK: "running"} and serving_site(sandbox, INVENTORY) == "localzone"
    # Both apps write to the Local Zone's database; each runs on its own side of the Local Zone's border.
    for name, operator in (("wordpress", "In"), ("wordpress-region", "NotIn")):
        app = deployed["apps"][name]
        assert app["env"]["WORDPRESS_DB_HOST"] == home and app["env"]["WORDPRESS_DB_PASSWORD"] == "db-instance-pass"
        terms = app["affinity"]["node_affinity"]["required_during_scheduling_ignored_during_execution"]
        assert terms["node_selector_terms"][0]["match_expressions"][0]["operator"] == operator
    # EFS has mount targets only in the Region's AZs; the Local Zone's nodes resolve the parent AZ's (us-east-1a).
    assert [zone for zone, _ip in deployed["efs"]] == ["us-east-1a", "us-east-1b"]
    assert dict(deployed["efs"])["us-east-1a"] in deployed["aliases"]["values.yaml"]
    # Failover CNAMEs, TTL 60, with HTTPS health checks every 10 s, 3 failures.
    records = {r["Failover"]: r for r in deployed["records"]["records"]}
    assert {r["Type"] for r in records.values()} == {"CNAME"} and {r["TTL"] for r in records.values()} == {60}
    checks = [c["config"] for c in deployed["records"]["health_checks"].values()]
    assert len(checks) == 2 and all(c["Type"] == "HTTPS" and c["Port"] == 443 and c["RequestInterval"] == 10
                                    and c["FailureThreshold"] == 3 for c in checks), checks
    # DMS's full load copied the site's posts.
    deadline = time.monotonic() + 30
    while table_rows(sandbox, TABLE, PASSWORD, STANDBY_DB) != table_rows(sandbox, TABLE, PASSWORD, HOME_DB):
        assert time.monotonic() < deadline, "the full load did not copy the posts"
        time.sleep(0.5)


def test_deploy_makes_a_self_managed_group_in_the_local_zone_and_a_managed_one_in_the_region(sandbox, deployed):
    assert node_groups(sandbox, CLUSTER, "us-east-1") == {
        "localzone-workers": {"kind": "self_managed", "nodes": ["us-east-1-bos-1a", "us-east-1-bos-1a"]},
        "region-workers": {"kind": "managed", "nodes": ["us-east-1a", "us-east-1b"]},
    }


def test_second_deploy_changes_nothing(sandbox, deployed):
    run = run_changing_nothing(sandbox, INVENTORY, "deploy.yml")
    assert run.changed == 0, run.output


def test_failover_check_mode_changes_nothing(sandbox, deployed):
    run_changing_nothing(sandbox, INVENTORY, "failover.yml", "--check", "--diff")
    assert data_state(sandbox) == deployed


def test_bad_inputs_are_refused_before_anything_changes(sandbox, deployed):
    cases = [
        (["-e", "failover_target=nowhere"], "failover_target must be one of the sites"),
        (["-e", '{"data_tier_efs": {"name": "eks-ha-lz-region-wp", "subnets": ["nope"]}}'],
         "data_tier_efs.subnets names nope"),
        (["-e", "traffic_certificate_domain=unknown.example.org"], "No issued ACM certificate"),
    ]
    for extra, sentence in cases:
        playbook = "failover.yml" if "failover_target" in extra[1] else "deploy.yml"
        before = data_state(sandbox)
        run = run_playbook(sandbox, INVENTORY, playbook, *extra)
        assert run.returncode != 0 and sentence in run.output, (extra, run.output[-3000:])
        assert data_state(sandbox) == before


def test_failover_over_the_lag_budget_is_refused_with_nothing_moved(sandbox, deployed):
    sandbox.dms_delay(2.0)
    writer = Application(sandbox, kubernetes_api(sandbox, CLUSTER), NAMESPACE, TABLE, PASSWORD)
    writer.start()
    try:
        time.sleep(8)  # the writes pile up behind the slowed task
        run = run_playbook(sandbox, INVENTORY, "failover.yml", "-e", '{"data_tier_replication": {'
                           '"task": "wordpress-lz-to-region", "schemas": ["wordpress"], "max_lag_seconds": 1}}')
    finally:
        writer.stop()
        sandbox.dms_delay(0)
    assert run.returncode != 0 and "above max_lag_seconds 1" in run.output, run.output[-3000:]
    assert "Preflight | replication runs" in run.output
    assert "Traffic | move the traffic" not in run.output
    after = data_state(sandbox)
    assert after["records"] == deployed["records"] and after["apps"] == deployed["apps"]


@pytest.fixture(scope="module")
def failed_over(sandbox, deployed):
    deadline = time.monotonic() + 60  # the slowed task of the previous test catches up
    while table_rows(sandbox, TABLE, PASSWORD, STANDBY_DB) != table_rows(sandbox, TABLE, PASSWORD, HOME_DB):
        assert time.monotonic() < deadline, "replication did not catch up"
        time.sleep(0.5)
    writer = Application(sandbox, kubernetes_api(sandbox, CLUSTER), NAMESPACE, TABLE, PASSWORD)
    writer.start()
    time.sleep(2)
    try:
        run = run_playbook(sandbox, INVENTORY, "failover.yml")
        time.sleep(2)  # the Region's app writes to RDS
    finally:
        writer.stop()
    assert run.returncode == 0, run.output
    return run, writer.acknowledged


def test_failover_moves_traffic_then_the_writer_and_loses_no_write(sandbox, failed_over):
    run, acknowledged = failed_over
    output = run.output
    assert output.index("Preflight | replication runs") < output.index("Traffic | move the traffic") \
        < output.index("Data | move the writer") < output.index("Verify | the target site serves")
    state = data_state(sandbox)
    rds = sandbox.database(STANDBY_DB)["aws_host"]
    assert state["tasks"] == {TASK: "stopped"}
    assert state["apps"]["wordpress-region"]["env"]["WORDPRESS_DB_HOST"] == rds
    assert state["apps"]["wordpress-region"]["env"]["WORDPRESS_DB_PASSWORD"] == "rds-pass"
    assert state["apps"]["wordpress"]["replicas"] == 0  # quiesced: the Local Zone's app writes nowhere
    assert serving_site(sandbox, INVENTORY) == "region"
    # Every acknowledged write, before and after the switch, is on RDS; the writes switched database once.
    assert {host for host, *_ in acknowledged} == {sandbox.database(HOME_DB)["aws_host"], rds}
    assert {row for _host, row, *_ in acknowledged} <= table_rows(sandbox, TABLE, PASSWORD, STANDBY_DB)
    assert never_two_writers(acknowledged) == 1


def test_second_failover_changes_nothing(sandbox, failed_over):
    run = run_changing_nothing(sandbox, INVENTORY, "failover.yml")
    assert run.changed == 0, run.output


def test_failback_returns_to_the_deploy_state_and_loses_no_write(sandbox, deployed, failed_over):
    writer = Application(sandbox, kubernetes_api(sandbox, CLUSTER), NAMESPACE, TABLE, PASSWORD)
    writer.start()
    time.sleep(2)
    try:
        run = run_playbook(sandbox, INVENTORY, "failback.yml")
        time.sleep(2)
    finally:
        writer.stop()
    assert run.returncode == 0, run.output
    assert run.output.index("Data | replication back") < run.output.index("Traffic | restore the configured state")
    assert {row for _host, row, *_ in writer.acknowledged} <= table_rows(sandbox, TABLE, PASSWORD, HOME_DB)
    assert never_two_writers(writer.acknowledged) == 1
    state = data_state(sandbox)
    # The reverse task stays, stopped, for the next failback to resume; everything else is as deploy left it.
    assert state["tasks"].pop(f"{TASK}-reverse") == "stopped"
    assert state == deployed
    wait_for_the_pair(sandbox)
