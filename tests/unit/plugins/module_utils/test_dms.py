"""DMS cutover decisions: how to (re)start a task, when the lag has drained, and how applications are re-pointed."""

import datetime
import json

import pytest

from ansible_collections.eks_ha.resilience.plugins.module_utils import dms

T0 = datetime.datetime(2026, 11, 21, 12, 0, 0, tzinfo=datetime.timezone.utc)


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "task, expected",
    [
        ({"Status": "ready"}, "start-replication"),
        ({"Status": "running"}, None),
        ({"Status": "starting"}, None),
        ({"Status": "stopped", "ReplicationTaskStartDate": T0}, "resume-processing"),
        ({"Status": "stopped"}, "resume-processing"),
        ({"Status": "ready", "ReplicationTaskStats": {"FreshStartDate": T0}}, "resume-processing"),
        ({"Status": "failed"}, "resume-processing"),
    ],
)
def test_start_type_resumes_a_task_that_ran(task, expected):
    assert dms.start_type(task) == expected


def test_lag_and_drained():
    latest = {"CDCLatencySource": (at(10), 0.0), "CDCLatencyTarget": (at(10), 3.5)}
    assert dms.lag(latest) == 3.5
    assert dms.lag({"CDCLatencySource": (at(10), 0.0)}) is None
    assert not dms.drained(latest, at(5))
    zero = {"CDCLatencySource": (at(10), 0.0), "CDCLatencyTarget": (at(10), 0.0)}
    assert dms.drained(zero, at(10))
    # A zero measured before the writers stopped proves nothing about the writes made after it.
    assert not dms.drained(zero, at(11))


def test_database_host_and_resource_id():
    assert dms.database_host({"ServerName": "db.example", "Port": 3306}) == "db.example"
    assert dms.database_host({"ServerName": "10.0.1.5", "Port": 3307}) == "10.0.1.5:3307"
    assert dms.resource_id("arn:aws:dms:us-east-1:123456789012:task:ABCDEF") == "ABCDEF"


def test_table_mappings_and_reverse_task():
    rules = json.loads(dms.table_mappings(["wordpress"]))["rules"]
    assert rules[0]["object-locator"] == {"schema-name": "wordpress", "table-name": "%"}
    forward = {"SourceEndpointArn": "src", "TargetEndpointArn": "tgt", "ReplicationInstanceArn": "ri",
               "TableMappings": "{}"}
    params = dms.reverse_task_params(forward, "wp-reverse", at(0))
    assert (params["SourceEndpointArn"], params["TargetEndpointArn"], params["MigrationType"]) == ("tgt", "src", "cdc")
    assert params["CdcStartTime"] == at(0)


def deployment(env, replicas=1, annotations=None):
    return {"metadata": {"annotations": annotations or {}},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "wordpress", "env": env}]}}}}


def test_pointed_env_sets_host_and_secret_reference_in_place():
    env = [{"name": "WORDPRESS_DB_HOST", "value": "10.0.1.5"},
           {"name": "WORDPRESS_DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-instance-pass", "key": "password"}}},
           {"name": "WORDPRESS_DB_USER", "value": "wordpress"}]
    pointed = dms.pointed_env(env, "WORDPRESS_DB_HOST", "rds.example", "WORDPRESS_DB_PASSWORD", "rds-pass")
    assert [e["name"] for e in pointed] == ["WORDPRESS_DB_HOST", "WORDPRESS_DB_PASSWORD", "WORDPRESS_DB_USER"]
    assert pointed[0] == {"name": "WORDPRESS_DB_HOST", "value": "rds.example"}
    assert pointed[1]["valueFrom"]["secretKeyRef"] == {"name": "rds-pass", "key": "password"}
    # Without a secret the password reference is left alone.
    assert dms.pointed_env(env, "WORDPRESS_DB_HOST", "rds.example")[1] == env[1]


def test_writers_and_replicas_to_restore():
    app = deployment([{"name": "WORDPRESS_DB_HOST", "value": "10.0.1.5"}], replicas=0,
                     annotations={dms.REPLICAS_ANNOTATION: "3"})
    assert dms.writes_to(app, "WORDPRESS_DB_HOST", "10.0.1.5")
    assert not dms.writes_to(app, "WORDPRESS_DB_HOST", "rds.example")
    assert dms.replicas_to_restore(app) == 3
    assert dms.replicas_to_restore(app, 2) == 2
    assert dms.replicas_to_restore(deployment([], replicas=0)) == 1
    assert dms.container_env(app, "missing") == (None, [])


def test_the_drain_is_proved_only_by_a_datapoint_a_whole_period_after_the_quiesce():
    quiesced = datetime.datetime(2026, 11, 21, 12, 0, 0, 900000, tzinfo=datetime.timezone.utc)
    since = dms.settled_from(quiesced, 1)
    zero_in_the_same_second = {m: (quiesced.replace(microsecond=0), 0.0) for m in dms.LATENCY_METRICS}
    zero_two_seconds_later = {m: (quiesced.replace(microsecond=0) + datetime.timedelta(seconds=2), 0.0)
                              for m in dms.LATENCY_METRICS}
    assert not dms.drained(zero_in_the_same_second, since)
    assert dms.drained(zero_two_seconds_later, since)
    assert dms.settled_from(quiesced, 60) == quiesced + datetime.timedelta(seconds=60)
