"""The application, played: writes through whichever database the ready Deployments of a namespace name.

Pods in the sandbox run no code, so a thread plays the WordPress-like apps for the demo and the tests: every ~20 ms, for each Deployment
with ready replicas, it inserts a row into the database its ``WORDPRESS_DB_HOST`` names (through the sandbox's
local address of that database) and keeps every write the database acknowledged, with when it was sent and
acknowledged. A write that fails is not acknowledged: the application would retry or report it.
"""

from __future__ import annotations

import threading
import time
import uuid

import pymysql
from kubernetes import client, config


def kubernetes_client(sandbox, cluster):
    """A kubernetes client for one of the sandbox's clusters (its kubeconfig has a context per cluster)."""
    return config.new_client_from_config(str(sandbox.state_dir / "kubeconfig"), context=cluster)


class Application(threading.Thread):
    """Writes a row every ~20 ms through each ready Deployment's database; records acknowledged writes."""

    def __init__(self, sandbox, api, namespace, table, password, user="wordpress", database="wordpress"):
        super().__init__(daemon=True)
        self.api = client.AppsV1Api(api)
        self.namespace, self.table, self.password, self.user, self.database = namespace, table, password, user, database
        self.local = {(d["aws_host"], d["aws_port"]): (d["local_host"], d["local_port"])
                      for d in sandbox.status()["databases"]}
        self.acknowledged = []  # (database host, row id, sent at, acknowledged at)
        self.stopped = threading.Event()

    def hosts(self):
        hosts = set()
        for deployment in self.api.list_namespaced_deployment(self.namespace).items:
            if deployment.status and deployment.status.ready_replicas:
                env = {e.name: e.value for e in deployment.spec.template.spec.containers[0].env or []}
                if env.get("WORDPRESS_DB_HOST"):
                    hosts.add(env["WORDPRESS_DB_HOST"])
        return hosts

    def write(self, host):
        name, _, port = host.partition(":")
        local_host, local_port = self.local[(name, int(port or 3306))]
        row = uuid.uuid4().hex
        sent = time.monotonic()
        try:
            with pymysql.connect(host=local_host, port=local_port, user=self.user, password=self.password,
                                 database=self.database, autocommit=True, connect_timeout=2) as connection:
                with connection.cursor() as cursor:
                    cursor.execute(f"INSERT INTO {self.table} (id, body) VALUES (%s, %s)", (row, host))
        except pymysql.MySQLError:
            return
        self.acknowledged.append((host, row, sent, time.monotonic()))

    def run(self):
        deadline = time.monotonic() + 600
        while not self.stopped.is_set() and time.monotonic() < deadline:
            for host in self.hosts():
                self.write(host)
            time.sleep(0.02)

    def stop(self):
        self.stopped.set()
        self.join(timeout=10)


def create_table(sandbox, name, table, password, rows=0, user="wordpress", database="wordpress"):
    """Create ``table`` (id, body) in the sandbox database ``name`` if missing, with ``rows`` rows more."""
    found = sandbox.database(name)
    with pymysql.connect(host=found["local_host"], port=found["local_port"], user=user, password=password,
                         database=database, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {table} (id CHAR(32) PRIMARY KEY, body VARCHAR(255))")
        cursor.executemany(f"INSERT INTO {table} VALUES (%s, 'written before the deploy')",
                           [(uuid.uuid4().hex,) for _ in range(rows)])


def table_rows(sandbox, table, password, name, user="wordpress", database="wordpress"):
    """The ids of every row of ``table`` in the sandbox database ``name``."""
    found = sandbox.database(name)
    with pymysql.connect(host=found["local_host"], port=found["local_port"], user=user, password=password,
                         database=database) as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table}")
        return {row[0] for row in cursor.fetchall()}


def never_two_writers(acknowledged):
    """The writes, in time order, switch database at most once per cutover: no interleaving of two writers.

    Returns how many times the database switched.
    """
    ordered = sorted(acknowledged, key=lambda write: write[2])
    for earlier, later in zip(ordered, ordered[1:]):
        if earlier[0] != later[0]:
            # Every write to the old database was acknowledged before the first write to the new one was sent.
            old_writes = [w for w in ordered if w[0] == earlier[0] and w[2] <= later[2]]
            assert max(w[3] for w in old_writes) <= later[2], (earlier, later)
    return sum(1 for a, b in zip(ordered, ordered[1:]) if a[0] != b[0])
