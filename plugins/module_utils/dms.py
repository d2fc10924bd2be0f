# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""AWS DMS helpers for moving a database writer between sites without losing acknowledged writes.

As in the other files here: thin boto3 wrappers (retried, raising ``AnsibleDMSError``) and pure decisions.

Facts relied on (AWS DMS user guide):

* a task that has run before restarts with ``resume-processing`` (continue from its checkpoint) or
  ``reload-target``; ``start-replication`` is for its first run only;
* CloudWatch metrics ``CDCLatencySource`` (seconds between the newest change on the source and the task
  reading it) and ``CDCLatencyTarget`` (seconds between a change on the source and its commit on the target)
  in namespace ``AWS/DMS`` with dimensions ``ReplicationInstanceIdentifier`` and ``ReplicationTaskIdentifier``
  (the task's resource id, the last field of its ARN) say how far the target is behind.
"""

import datetime
import json
import uuid

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

LATENCY_METRICS = ("CDCLatencySource", "CDCLatencyTarget")
RUNNING = "running"
STOPPED_STATES = ("stopped", "ready", "failed")
DEFAULT_DB_PORT = 3306
# Annotation that remembers a quiesced writer's replicas, so a later cutover can bring it back.
REPLICAS_ANNOTATION = "eks-ha.resilience/replicas-before-quiesce"


class AnsibleDMSError(AnsibleAWSError):
    pass


class DMSErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleDMSError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(["ResourceNotFoundFault"])


# ---------------------------------------------------------------------------
# boto3 wrappers
# ---------------------------------------------------------------------------


@DMSErrorHandler.list_error_handler("describe replication task")
@AWSRetry.jittered_backoff()
def describe_task(client, identifier):
    """The replication task named ``identifier``, or None."""
    tasks = client.describe_replication_tasks(
        Filters=[{"Name": "replication-task-id", "Values": [identifier]}], WithoutSettings=True)["ReplicationTasks"]
    return tasks[0] if tasks else None


@DMSErrorHandler.common_error_handler("describe endpoint")
@AWSRetry.jittered_backoff()
def describe_endpoint(client, arn):
    return client.describe_endpoints(Filters=[{"Name": "endpoint-arn", "Values": [arn]}])["Endpoints"][0]


@DMSErrorHandler.common_error_handler("describe replication instance")
@AWSRetry.jittered_backoff()
def describe_instance(client, arn):
    instances = client.describe_replication_instances(
        Filters=[{"Name": "replication-instance-arn", "Values": [arn]}])["ReplicationInstances"]
    return instances[0] if instances else None


@DMSErrorHandler.list_error_handler("describe replication instance")
@AWSRetry.jittered_backoff()
def describe_instance_by_id(client, identifier):
    """The replication instance with identifier ``identifier``, or None."""
    instances = client.describe_replication_instances(
        Filters=[{"Name": "replication-instance-id", "Values": [identifier]}])["ReplicationInstances"]
    return instances[0] if instances else None


@DMSErrorHandler.common_error_handler("create replication task")
@AWSRetry.jittered_backoff()
def create_task(client, params):
    return client.create_replication_task(**params)["ReplicationTask"]


@DMSErrorHandler.common_error_handler("start replication task")
@AWSRetry.jittered_backoff()
def start_task(client, arn, start_type, cdc_start_time=None):
    params = dict(ReplicationTaskArn=arn, StartReplicationTaskType=start_type)
    if cdc_start_time is not None:
        params["CdcStartTime"] = cdc_start_time
    return client.start_replication_task(**params)["ReplicationTask"]


@DMSErrorHandler.common_error_handler("stop replication task")
@AWSRetry.jittered_backoff()
def stop_task(client, arn):
    return client.stop_replication_task(ReplicationTaskArn=arn)["ReplicationTask"]


@DMSErrorHandler.common_error_handler("read the CDC latency metrics")
@AWSRetry.jittered_backoff()
def latest_latency(cloudwatch, instance_identifier, task_resource_id, period, now):
    """{metric: (bucket start, maximum)} of the newest datapoint of each latency metric (missing when none)."""
    queries = [{
        "Id": metric.lower(),
        "MetricStat": {"Metric": {"Namespace": "AWS/DMS", "MetricName": metric, "Dimensions": [
            {"Name": "ReplicationInstanceIdentifier", "Value": instance_identifier},
            {"Name": "ReplicationTaskIdentifier", "Value": task_resource_id}]},
            "Period": period, "Stat": "Maximum"},
    } for metric in LATENCY_METRICS]
    answer = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=now - datetime.timedelta(seconds=10 * period),
                                        EndTime=now + datetime.timedelta(seconds=period), ScanBy="TimestampDescending")
    latest = {}
    for result in answer["MetricDataResults"]:
        metric = next(m for m in LATENCY_METRICS if m.lower() == result["Id"])
        if result.get("Timestamps"):
            latest[metric] = (result["Timestamps"][0], float(result["Values"][0]))
    return latest


# ---------------------------------------------------------------------------
# Pure decisions
# ---------------------------------------------------------------------------


def resource_id(arn):
    """The resource id DMS uses as the ReplicationTaskIdentifier dimension: the last field of the task ARN."""
    return arn.rsplit(":", 1)[-1]


def database_host(endpoint):
    """What an application's host setting holds for a DMS endpoint's database: host, or host:port off 3306."""
    port = endpoint.get("Port") or DEFAULT_DB_PORT
    return endpoint["ServerName"] if port == DEFAULT_DB_PORT else f"{endpoint['ServerName']}:{port}"


def start_type(task):
    """How to (re)start a task: None when it runs, start-replication the first time, else resume-processing."""
    status = task["Status"]
    if status in (RUNNING, "starting"):
        return None
    stats = task.get("ReplicationTaskStats") or {}
    has_run = bool(task.get("ReplicationTaskStartDate") or stats.get("StartDate") or stats.get("FreshStartDate")
                   or status in ("stopped", "failed"))
    return "resume-processing" if has_run else "start-replication"


def lag(latest):
    """The larger of the two latencies (None when either has no datapoint)."""
    if not all(metric in latest for metric in LATENCY_METRICS):
        return None
    return max(value for _timestamp, value in latest.values())


def settled_from(quiesced_at, period):
    """Earliest start of a datapoint that proves the drain: one whole period after the quiesce.

    A latency of 0 only says the task had read (and applied) everything when it last read the source's log; that
    read may predate the datapoint. Requiring the datapoint to begin a full period after the writers stopped means
    the reads it reflects came after the last write.
    """
    return quiesced_at + datetime.timedelta(seconds=period)


def drained(latest, since):
    """Whether both latencies are 0 in a datapoint that began at or after ``since`` (no older writes mixed in)."""
    return all(metric in latest and latest[metric][0] >= since and latest[metric][1] == 0 for metric in LATENCY_METRICS)


def table_mappings(schemas):
    """DMS selection rules including every table of ``schemas``."""
    rules = [{"rule-type": "selection", "rule-id": str(index), "rule-name": f"include-{schema}",
              "object-locator": {"schema-name": schema, "table-name": "%"}, "rule-action": "include"}
             for index, schema in enumerate(schemas, start=1)]
    return json.dumps({"rules": rules}, sort_keys=True)


def reverse_task_params(forward, identifier, cdc_start_time):
    """CreateReplicationTask parameters of the task that replicates back, from the forward task's target."""
    return dict(ReplicationTaskIdentifier=identifier, SourceEndpointArn=forward["TargetEndpointArn"],
                TargetEndpointArn=forward["SourceEndpointArn"], ReplicationInstanceArn=forward["ReplicationInstanceArn"],
                MigrationType="cdc", TableMappings=forward["TableMappings"], CdcStartTime=cdc_start_time,
                ResourceIdentifier=f"eks-ha-{uuid.uuid4().hex[:12]}")


def container_env(deployment, container=None):
    """``(index, env list)`` of the named container (else the first) of a Deployment."""
    containers = (((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    for index, candidate in enumerate(containers):
        if container is None or candidate.get("name") == container:
            return index, candidate.get("env") or []
    return None, []


def env_value(env, name):
    return next((e.get("value") for e in env if e.get("name") == name), None)


def writes_to(deployment, host_env, host):
    """Whether the Deployment's application is configured to write to ``host``."""
    return env_value(container_env(deployment)[1], host_env) == host


def pointed_env(env, host_env, host, password_env=None, secret=None, secret_key="password"):
    """``env`` with the database host set to ``host`` and the password taken from ``secret`` (when given)."""
    result = [e for e in env if e.get("name") not in (host_env, password_env if secret else None)]
    result.append({"name": host_env, "value": host})
    if secret:
        result.append({"name": password_env, "valueFrom": {"secretKeyRef": {"name": secret, "key": secret_key}}})
    order = [e.get("name") for e in env]
    return sorted(result, key=lambda e: order.index(e["name"]) if e["name"] in order else len(order))


def replicas_to_restore(deployment, requested=None):
    """Replicas a pointed application runs with: as requested, else as before its quiesce, else as now (min 1)."""
    if requested is not None:
        return requested
    annotations = (deployment.get("metadata") or {}).get("annotations") or {}
    if annotations.get(REPLICAS_ANNOTATION):
        return int(annotations[REPLICAS_ANNOTATION])
    return max(((deployment.get("spec") or {}).get("replicas") or 0), 1)
