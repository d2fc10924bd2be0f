"""DMS in the sandbox between two real MariaDB servers: real rows, real change data capture, real lag.

The module has its own sandbox, seeded from ``data_inventory``: MariaDB on an EC2 instance in the Boston
Local Zone (site ``lz``) and RDS for MariaDB in us-east-1 (site ``region``). The forward task's tests run in
file order on one task while a writer keeps changing the ``events`` table for their whole length.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pymysql
import pytest
from botocore.exceptions import ClientError

from sandbox import Sandbox, SandboxError
from sandbox.client import is_zombie

from .helpers import wait_for

DATA_INVENTORY = Path(__file__).resolve().parent / "data_inventory"
PASSWORD = "wordpress99"
INSTANCE = "eks-ha-dms"


class Database:
    """An inventory database, reached on its local MariaDB as the application's user."""

    def __init__(self, sandbox: Sandbox, name: str):
        self.info = sandbox.database(name)

    def connect(self, **options: Any) -> pymysql.Connection:
        return pymysql.connect(host=self.info["local_host"], port=self.info["local_port"], user="wordpress",
                               password=PASSWORD, database="wordpress", autocommit=True, **options)

    def run(self, *statements: str) -> list[tuple]:
        """Run ``statements`` in order; return the rows of the last."""
        with self.connect() as connection, connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
            return list(cursor.fetchall())

    def snapshot(self, table: str) -> tuple[int, int]:
        """(row count, CHECKSUM TABLE) of ``table``."""
        count = self.run(f"SELECT COUNT(*) FROM {table}")[0][0]
        return count, self.run(f"CHECKSUM TABLE {table}")[0][1]


def same(source: Database, target: Database, *tables: str) -> bool:
    return all(source.snapshot(table) == target.snapshot(table) for table in tables)


class Writer(threading.Thread):
    """Inserts, updates and deletes rows of ``events`` on a database, ~50 changes a second, until stopped."""

    def __init__(self, database: Database):
        super().__init__(daemon=True)
        self.database = database
        self.running = threading.Event()
        self.done = threading.Event()
        self.rounds = 0

    def run(self) -> None:
        deadline = time.monotonic() + 120  # bounded, whatever happens to the test
        with self.database.connect() as connection, connection.cursor() as cursor:
            while not self.done.is_set() and time.monotonic() < deadline:
                if self.running.wait(0.05):
                    self.change(cursor)
                    time.sleep(0.02)

    def change(self, cursor: Any) -> None:
        cursor.execute("INSERT INTO events (kind, amount, flags) VALUES ('write', %s, %s)",
                       (self.rounds, "a,b" if self.rounds % 3 == 0 else None))
        if self.rounds % 5 == 0:
            cursor.execute("UPDATE events SET amount = amount + 1, kind = 'updated' ORDER BY RAND() LIMIT 1")
        if self.rounds % 7 == 0:
            cursor.execute("DELETE FROM events ORDER BY RAND() LIMIT 1")
        self.rounds += 1


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sandbox = Sandbox(tmp_path_factory.mktemp("data-sandbox"))
    try:
        sandbox.up([DATA_INVENTORY])
        yield sandbox
    finally:
        sandbox.down()


@pytest.fixture(scope="module")
def lz(box: Sandbox) -> Database:
    return Database(box, "eks-ha-lz-db")


@pytest.fixture(scope="module")
def rds(box: Sandbox) -> Database:
    return Database(box, "eks-ha-region-db")


@pytest.fixture(scope="module")
def dms(box: Sandbox) -> Any:
    return box.client("dms")


@pytest.fixture(scope="module")
def instance_arn(dms: Any) -> str:
    return dms.create_replication_instance(ReplicationInstanceIdentifier=INSTANCE,
                                           ReplicationInstanceClass="dms.t3.medium")["ReplicationInstance"][
        "ReplicationInstanceArn"]


def create_endpoint(dms: Any, identifier: str, kind: str, database: Database | None = None, **overrides: Any) -> str:
    """A MariaDB endpoint at ``database``'s AWS-side address, as the application's user."""
    settings = {"EngineName": "mariadb", "Username": "wordpress", "Password": PASSWORD, "Port": 3306,
                "ServerName": database.info["aws_host"] if database else "", **overrides}
    return dms.create_endpoint(EndpointIdentifier=identifier, EndpointType=kind, **settings)["Endpoint"]["EndpointArn"]


@pytest.fixture(scope="module")
def endpoints(dms: Any, lz: Database, rds: Database) -> dict[str, str]:
    return {"lz": create_endpoint(dms, "lz-mariadb", "source", lz), "rds": create_endpoint(dms, "rds-mariadb", "target", rds)}


def mappings(*tables: str) -> str:
    rules = [{"rule-type": "selection", "rule-id": str(i), "rule-name": table, "rule-action": "include",
              "object-locator": {"schema-name": "word%", "table-name": table}} for i, table in enumerate(tables, 1)]
    return json.dumps({"rules": rules})


def create_task(dms: Any, identifier: str, source: str, target: str, instance_arn: str, migration_type: str,
                tables: tuple[str, ...], **extra: Any) -> str:
    """A task that is ready to start (its creation has finished)."""
    created = dms.create_replication_task(
        ReplicationTaskIdentifier=identifier, SourceEndpointArn=source, TargetEndpointArn=target,
        ReplicationInstanceArn=instance_arn, MigrationType=migration_type, TableMappings=mappings(*tables),
        **extra)["ReplicationTask"]
    assert created["Status"] == "creating"
    wait_for(lambda: describe(dms, created["ReplicationTaskArn"])["Status"] == "ready")
    return created["ReplicationTaskArn"]


def describe(dms: Any, arn: str) -> dict[str, Any]:
    return dms.describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [arn]}])[
        "ReplicationTasks"][0]


def start(dms: Any, arn: str, kind: str, **extra: Any) -> dict[str, Any]:
    """Start a task and wait until it runs."""
    assert dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType=kind, **extra)[
        "ReplicationTask"]["Status"] == "starting"
    return wait_for(lambda: (task := describe(dms, arn))["Status"] == "running" and task)


def stop(dms: Any, arn: str) -> dict[str, Any]:
    assert dms.stop_replication_task(ReplicationTaskArn=arn)["ReplicationTask"]["Status"] == "stopping"
    return wait_for(lambda: (task := describe(dms, arn))["Status"] == "stopped" and task)


def error_of(call: Callable[[], Any]) -> dict[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]


def table_stats(dms: Any, arn: str, table: str) -> dict[str, Any]:
    statistics = dms.describe_table_statistics(ReplicationTaskArn=arn)["TableStatistics"]
    return next(s for s in statistics if s["TableName"] == table)


def latency_datapoints(box: Sandbox, arn: str, since: datetime.datetime, metric: str) -> list[dict[str, Any]]:
    """The task's per-second maxima of ``metric`` since ``since``, oldest first."""
    dimensions = [{"Name": "ReplicationInstanceIdentifier", "Value": INSTANCE},
                  {"Name": "ReplicationTaskIdentifier", "Value": arn.rsplit(":", 1)[1]}]
    points = box.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/DMS", MetricName=metric, Dimensions=dimensions, StartTime=since, Period=1,
        EndTime=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5),
        Statistics=["Maximum"])["Datapoints"]
    return sorted(points, key=lambda point: point["Timestamp"])


# -- the databases ---------------------------------------------------------------------------------


def test_databases_are_real_mariadb_servers_behind_their_aws_addresses(box: Sandbox, lz: Database, rds: Database,
                                                                       cli: Callable) -> None:
    instance = box.client("ec2").describe_instances(Filters=[{"Name": "tag:Name", "Values": ["eks-ha-lz-db"]}])[
        "Reservations"][0]["Instances"][0]
    assert instance["Placement"]["AvailabilityZone"] == "us-east-1-bos-1a"
    assert (lz.info["aws_host"], lz.info["aws_port"], lz.info["kind"], lz.info["site"]) == (
        instance["PrivateIpAddress"], 3306, "ec2", "lz")
    endpoint = box.client("rds").describe_db_instances(DBInstanceIdentifier="eks-ha-region-db")["DBInstances"][0][
        "Endpoint"]
    assert (rds.info["aws_host"], rds.info["aws_port"], rds.info["kind"]) == (endpoint["Address"], endpoint["Port"], "rds")
    assert {d["name"] for d in box.status()["databases"]} == {"eks-ha-lz-db", "eks-ha-region-db"}

    version, log_bin, binlog_format, row_image = rds.run("SELECT VERSION(), @@log_bin, @@binlog_format, @@binlog_row_image")[0]
    assert "MariaDB" in version and (log_bin, binlog_format, row_image) == (1, "ROW", "FULL")
    assert rds.run("SHOW MASTER STATUS")[0][0].startswith("mysql-bin-changelog.")  # as RDS names its binlogs
    lz.run("CREATE TABLE IF NOT EXISTS kept (id INT PRIMARY KEY)", "REPLACE INTO kept VALUES (7)")

    summary = box.up([DATA_INVENTORY])  # seeding again reuses the servers and their data
    assert summary["inventories"][0]["created"] == []
    assert Database(box, "eks-ha-lz-db").info["local_port"] == lz.info["local_port"]
    assert lz.run("SELECT id FROM kept") == [(7,)]

    status = cli("status", "--state-dir", str(box.state_dir))
    assert f"{lz.info['aws_host']}:3306 -> 127.0.0.1:{lz.info['local_port']}" in status.stdout
    with pytest.raises(SandboxError, match="known databases: eks-ha-lz-db, eks-ha-region-db"):
        box.database("atlantis")


# -- connections and failures ----------------------------------------------------------------------


def test_test_connection_logs_in_for_real(box: Sandbox, dms: Any, instance_arn: str, lz: Database,
                                          rds: Database, endpoints: dict[str, str]) -> None:
    wrong_password = create_endpoint(dms, "rds-wrong-password", "target", rds, Password="not-it")
    nowhere = create_endpoint(dms, "nowhere", "target", ServerName="10.99.0.10")
    no_schema = create_endpoint(dms, "rds-no-schema", "target", rds, DatabaseName="nosuchdb")

    def tested(endpoint_arn: str) -> dict[str, Any]:
        answer = dms.test_connection(ReplicationInstanceArn=instance_arn, EndpointArn=endpoint_arn)["Connection"]
        assert answer["Status"] == "testing"
        return dms.describe_connections(Filters=[{"Name": "endpoint-arn", "Values": [endpoint_arn]}])["Connections"][0]

    assert tested(endpoints["lz"])["Status"] == tested(endpoints["rds"])["Status"] == "successful"
    failures = {arn: tested(arn) for arn in (wrong_password, nowhere, no_schema)}
    assert {c["Status"] for c in failures.values()} == {"failed"}
    assert "NativeError: 1045 Message: [MySQL][ODBC 8.0(w) Driver]Access denied for user 'wordpress'" in \
        failures[wrong_password]["LastFailureMessage"]
    assert "Can't connect to MySQL server on '10.99.0.10'" in failures[nowhere]["LastFailureMessage"]
    assert "NativeError: 1044" in failures[no_schema]["LastFailureMessage"]  # no grant on a database that isn't there

    box.fail("lz")  # the Local Zone is down: its database no longer answers at its address
    try:
        assert "Can't connect to MySQL server" in tested(endpoints["lz"])["LastFailureMessage"]
    finally:
        box.recover("lz")
    assert tested(endpoints["lz"])["Status"] == "successful"


@pytest.mark.parametrize(("case", "source", "target", "error"), [
    ("wrong-password", {"Password": "not-it"}, {}, "Access denied for user 'wordpress'"),
    ("unreachable", {}, {"ServerName": "10.99.0.11"}, "Can't connect to MySQL server on '10.99.0.11' (110)"),
], ids=["wrong-password", "unreachable"])
def test_a_task_whose_endpoint_fails_fails_as_dms_reports_it(dms: Any, instance_arn: str, lz: Database, rds: Database,
                                                             case: str, source: dict[str, str], target: dict[str, str],
                                                             error: str) -> None:
    lz.run("CREATE TABLE IF NOT EXISTS probe (id INT PRIMARY KEY)")
    arn = create_task(dms, f"fails-{case}", create_endpoint(dms, f"{case}-source", "source", lz, **source),
                      create_endpoint(dms, f"{case}-target", "target", rds, **target), instance_arn, "full-load",
                      ("probe",))
    dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
    task = wait_for(lambda: (t := describe(dms, arn))["Status"] == "failed" and t)
    assert task["StopReason"] == "Stop Reason FATAL_ERROR"
    assert task["LastFailureMessage"].startswith("Last Error Endpoint initialization failed.")
    assert error in task["LastFailureMessage"] and task["LastFailureMessage"].endswith("Error Level FATAL")


# -- one forward task, from the Local Zone to the Region, with a writer running all along -----------


@pytest.fixture(scope="module")
def writer(lz: Database) -> Iterator[Writer]:
    lz.run("DROP TABLE IF EXISTS events",
           "CREATE TABLE events (id BIGINT PRIMARY KEY AUTO_INCREMENT, kind VARCHAR(16) NOT NULL, "
           "amount DECIMAL(12, 2) NOT NULL, at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), flags SET('a', 'b'))")
    thread = Writer(lz)
    thread.start()
    thread.running.set()
    yield thread
    thread.done.set()
    thread.join()


@pytest.fixture(scope="module")
def forward(dms: Any, instance_arn: str, lz: Database, rds: Database, endpoints: dict[str, str], writer: Writer) -> str:
    """The forward task (full load and CDC of ``orders`` and ``events``), created and started."""
    lz.run("DROP TABLE IF EXISTS orders",
           "CREATE TABLE orders (id INT PRIMARY KEY AUTO_INCREMENT, item VARCHAR(40) NOT NULL, qty INT NOT NULL, "
           "price DECIMAL(10, 2), placed DATETIME(6), note TEXT, flags BIT(3))",
           "INSERT INTO orders (item, qty, price, placed, note, flags) SELECT CONCAT('item-', seq), seq, seq * 1.25, "
           "'2024-05-01 12:00:00.123456' + INTERVAL seq MINUTE, IF(seq % 3, NULL, 'gift'), seq % 8 FROM seq_1_to_50")
    rds.run("DROP TABLE IF EXISTS orders", "CREATE TABLE orders (id INT PRIMARY KEY, stale TEXT)",
            "INSERT INTO orders VALUES (1, 'left over from an older copy')")
    arn = create_task(dms, "lz-to-region", endpoints["lz"], endpoints["rds"], instance_arn, "full-load-and-cdc",
                      ("orders", "events"), ResourceIdentifier="LZTOREGIONFORWARD")
    assert arn.endswith(":task:LZTOREGIONFORWARD")
    error = error_of(lambda: dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="resume-processing"))
    assert error["Code"] == "InvalidParameterCombinationException"
    start(dms, arn, "start-replication")
    return arn


def test_full_load_copies_existing_rows(dms: Any, forward: str, lz: Database, rds: Database) -> None:
    task = wait_for(lambda: (t := describe(dms, forward))["ReplicationTaskStats"]["TablesLoaded"] == 2 and t)
    stats = task["ReplicationTaskStats"]
    assert (stats["FullLoadProgressPercent"], stats["TablesQueued"], stats["TablesErrored"]) == (100, 0, 0)
    assert stats["FreshStartDate"] <= stats["FullLoadStartDate"] <= stats["FullLoadFinishDate"]
    assert lz.snapshot("orders") == rds.snapshot("orders")  # the stale table was dropped and created anew
    assert rds.run("SHOW CREATE TABLE orders")[0][1] == lz.run("SHOW CREATE TABLE orders")[0][1]
    orders = table_stats(dms, forward, "orders")
    assert (orders["FullLoadRows"], orders["TableState"], orders["FullLoadReloaded"]) == (50, "Table completed", False)


def test_cdc_follows_inserts_updates_and_deletes(dms: Any, forward: str, lz: Database, rds: Database) -> None:
    before = table_stats(dms, forward, "orders")
    lz.run("INSERT INTO orders (item, qty, flags) VALUES ('new-1', 1, b'101'), ('new-2', 2, NULL)",
           "INSERT INTO orders (item, qty) VALUES ('new-3', 3)",
           "UPDATE orders SET qty = qty + 100, note = 'changed' WHERE id <= 10",  # one event, ten rows
           "UPDATE orders SET id = 500 WHERE id = 11",  # a new primary key
           "DELETE FROM orders WHERE id IN (20, 21, 22)")
    wait_for(lambda: same(lz, rds, "orders"))
    assert rds.run("SELECT qty, note FROM orders WHERE id = 1") == [(101, "changed")]
    assert rds.run("SELECT COUNT(*) FROM orders WHERE id IN (11, 20, 21, 22)") == [(0,)]
    after = wait_for(lambda: (s := table_stats(dms, forward, "orders"))["Deletes"] - before["Deletes"] == 3 and s)
    assert (after["Inserts"] - before["Inserts"], after["Updates"] - before["Updates"]) == (3, 11)


def test_apply_delay_shows_as_cdc_latency_that_drains_when_writes_stop(box: Sandbox, cli: Callable, dms: Any,
                                                                        forward: str, lz: Database, rds: Database,
                                                                        writer: Writer) -> None:
    since = datetime.datetime.now(datetime.timezone.utc)
    assert cli("dms-delay", "0.05", "--state-dir", str(box.state_dir)).returncode == 0
    lz.run(*[f"INSERT INTO orders (item, qty) VALUES ('burst', {n})" for n in range(40)])
    task = wait_for(lambda: (t := next(t for t in box.status()["dms_tasks"] if t["arn"] == forward))
                    ["cdc_latency_target"] >= 1.5 and t)
    assert task["pending_events"] > 0 and task["cdc_latency_source"] < 1
    wait_for(lambda: any(p["Maximum"] >= 1.5 for p in latency_datapoints(box, forward, since, "CDCLatencyTarget")))

    writer.running.clear()  # the writes stop; the task works off its backlog
    try:
        assert box.dms_delay(0) == 0
        drained = datetime.datetime.now(datetime.timezone.utc)
        wait_for(lambda: (points := latency_datapoints(box, forward, drained, "CDCLatencyTarget"))
                 and points[-1]["Maximum"] == 0)
        assert same(lz, rds, "orders", "events")
        # The reader looks at the binlog again once the backlog is applied: until then it cannot vouch for it.
        wait_for(lambda: (points := latency_datapoints(box, forward, drained, "CDCLatencySource"))
                 and points[-1]["Maximum"] == 0)
    finally:
        writer.running.set()


def test_stop_then_resume_processing_continues_without_loss_or_duplicates(dms: Any, forward: str, lz: Database,
                                                                           rds: Database) -> None:
    stopped = stop(dms, forward)
    assert stopped["StopReason"] == "Stop Reason NORMAL"
    assert stopped["ReplicationTaskStats"]["StopDate"] >= stopped["ReplicationTaskStats"]["StartDate"]
    checkpoint = stopped["RecoveryCheckpoint"]
    lz.run("INSERT INTO orders (item, qty) SELECT CONCAT('while-stopped-', seq), seq FROM seq_1_to_25",
           "UPDATE orders SET qty = -1 WHERE item LIKE 'burst%'", "DELETE FROM orders WHERE id BETWEEN 30 AND 34")
    time.sleep(0.3)
    assert rds.run("SELECT COUNT(*) FROM orders WHERE item LIKE 'while-stopped-%'") == [(0,)]  # nothing moves

    refused = error_of(lambda: dms.start_replication_task(ReplicationTaskArn=forward,
                                                          StartReplicationTaskType="start-replication"))
    assert refused == {"Code": "InvalidParameterCombinationException",
                       "Message": "Start Type : START_REPLICATION, valid only for tasks running for the first time"}
    resumed = start(dms, forward, "resume-processing")
    assert resumed["ReplicationTaskStats"]["FreshStartDate"] == stopped["ReplicationTaskStats"]["FreshStartDate"]
    wait_for(lambda: same(lz, rds, "orders"))
    assert rds.run("SELECT COUNT(*), COUNT(DISTINCT item) FROM orders WHERE item LIKE 'while-stopped-%'") == [(25, 25)]
    assert describe(dms, forward)["RecoveryCheckpoint"] != checkpoint


def test_continuous_writes_end_with_identical_tables(box: Sandbox, dms: Any, forward: str, lz: Database,
                                                     rds: Database, writer: Writer) -> None:
    writer.done.set()
    writer.join()
    assert writer.rounds > 100
    wait_for(lambda: same(lz, rds, "orders", "events"))
    for table in ("orders", "events"):
        assert lz.snapshot(table) == rds.snapshot(table)
    task = next(t for t in box.status()["dms_tasks"] if t["arn"] == forward)
    assert (task["status"], task["source"], task["target"]) == ("running", "eks-ha-lz-db", "eks-ha-region-db")
    assert task["applied_events"] > writer.rounds and task["checkpoint"].startswith("mariadb-bin.")


# -- the way back -----------------------------------------------------------------------------------


def test_reverse_cdc_task_from_a_start_position(dms: Any, forward: str, instance_arn: str, lz: Database,
                                                rds: Database, endpoints: dict[str, str]) -> None:
    stop(dms, forward)  # cut over: the Region's database is the writer now
    rds.run("INSERT INTO orders (item, qty) VALUES ('before-the-position', 1)")
    file, position = rds.run("SHOW MASTER STATUS")[0][:2]
    rds.run("INSERT INTO orders (item, qty) VALUES ('after-the-position', 2)",
            "UPDATE orders SET note = 'changed in the Region' WHERE id = 2", "DELETE FROM orders WHERE id = 3")

    arn = create_task(dms, "region-to-lz", endpoints["rds"], endpoints["lz"], instance_arn, "cdc", ("orders",))
    task = start(dms, arn, "start-replication", CdcStartPosition=f"{file}:{position}")
    assert task["CdcStartPosition"] == f"{file}:{position}"
    wait_for(lambda: lz.run("SELECT COUNT(*) FROM orders WHERE item = 'after-the-position'") == [(1,)])
    assert lz.run("SELECT note FROM orders WHERE id = 2") == [("changed in the Region",)]
    assert lz.run("SELECT COUNT(*) FROM orders WHERE id = 3 OR item = 'before-the-position'") == [(0,)]
    assert table_stats(dms, arn, "orders")["FullLoadRows"] == 0


def test_cdc_task_from_a_start_time_creates_the_missing_table(dms: Any, instance_arn: str, lz: Database,
                                                              rds: Database, endpoints: dict[str, str]) -> None:
    lz.run("DROP TABLE IF EXISTS notes", "CREATE TABLE notes (id INT PRIMARY KEY, body TEXT)",
           "INSERT INTO notes VALUES (1, 'before the start time')")
    time.sleep(1.1)  # binlog times are whole seconds
    start_time = datetime.datetime.now(datetime.timezone.utc)
    time.sleep(1.1)
    lz.run("INSERT INTO notes VALUES (2, 'after the start time')")
    arn = create_task(dms, "notes-since", endpoints["lz"], endpoints["rds"], instance_arn, "cdc", ("notes",),
                      CdcStartTime=start_time)
    start(dms, arn, "start-replication")
    wait_for(lambda: rds.run("SHOW TABLES LIKE 'notes'") and rds.run("SELECT id, body FROM notes"))
    assert rds.run("SELECT id, body FROM notes") == [(2, "after the start time")]
    stop(dms, arn)
    refused = error_of(lambda: dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="reload-target"))
    assert refused["Code"] == "InvalidParameterCombinationException"


# -- last: the servers go when the sandbox goes ----------------------------------------------------


def test_database_servers_die_with_the_sandbox_process(box: Sandbox) -> None:
    server = json.loads(box.process_file.read_text())["pid"]
    databases = children(server)
    assert len(databases) == 2
    os.kill(server, signal.SIGKILL)  # no chance to stop them: the kernel's parent-death signal does
    wait_for(lambda: not any(alive(pid) for pid in databases), timeout=10)


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and not is_zombie(pid)
