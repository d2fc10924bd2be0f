#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: dms_cutover
version_added: 0.1.0
short_description: Move the database writer between sites with AWS DMS and lose no acknowledged write
description:
  - O(state=replicating) ensures the forward DMS task (the home site's database to the stand-by's) exists and runs.
    It creates the task when missing and starts it with C(start-replication) the first time, C(resume-processing)
    after a stop. With O(applications) it also points each of them at the task's source database (host variable
    and password Secret reference), leaving their replicas alone. This is the configured state a deploy ensures.
  - O(state=cutover) moves the writer from the task's source to its target. First it checks that the task runs and
    that its CDC latency is within O(max_lag_seconds). Then it quiesces every Deployment whose application writes to
    the source (scaled to 0; its replicas are remembered in an annotation). It waits until CloudWatch reports
    C(CDCLatencySource) and C(CDCLatencyTarget) at 0 for a period that began at least one period after the quiesce
    (so the reads it reflects came after the last write), and stops the task.
    Last, it points the O(applications) at the target database (the host variable, and the password through a
    Secret reference) and waits until they are Ready.
  - If the latency does not drain within O(drain_timeout), the quiesced writers are brought back on the old primary
    and the module fails. There is no half cutover. Before the quiesce nothing is changed at all.
  - O(state=reverse) fails back. It creates the task in the other direction (CDC from the moment of the last cutover)
    or resumes it with C(resume-processing) when it exists. It waits until that task has caught up and runs the same
    cutover back. Then it resumes the forward task, so replication runs again from the home site.
  - Both cutovers return the lag when writers were quiesced and the lag at the switch (the RPO achieved, 0 after a
    full drain), the time each step took, and the writer database before and after.
  - At no moment do two databases take application writes. Writers of the old primary are stopped before the
    applications are pointed at the new one.
options:
  replication_task:
    description: Identifier of the forward replication task (source = the home site's database).
    type: str
    required: true
  state:
    description: What to ensure; see the description.
    type: str
    choices: [replicating, cutover, reverse]
    required: true
  reverse_task:
    description: Identifier of the task replicating back; defaults to C(<replication_task>-reverse).
    type: str
  source_endpoint_arn:
    description: Source endpoint of a forward task to create (O(state=replicating)).
    type: str
  target_endpoint_arn:
    description: Target endpoint of a forward task to create.
    type: str
  replication_instance_arn:
    description: Replication instance of a forward task to create.
    type: str
  replication_instance:
    description:
      - Identifier of the replication instance of a forward task to create, looked up in DMS.
      - Mutually exclusive with O(replication_instance_arn).
    type: str
  schemas:
    description: Schemas a forward task to create replicates (every table of each).
    type: list
    elements: str
  migration_type:
    description: Migration type of a forward task to create.
    type: str
    choices: [full-load-and-cdc, cdc]
    default: full-load-and-cdc
  max_lag_seconds:
    description: The RPO budget. A cutover starts only when the CDC latency is at most this.
    type: float
    default: 5
  drain_timeout:
    description: Seconds to wait for the latency to drain after the quiesce (and for a reverse task to catch up).
    type: int
    default: 120
  metric_period:
    description: Period in seconds of the CloudWatch datapoints read (DMS publishes every 60 s).
    type: int
    default: 60
  applications:
    description:
      - Deployments to point at the new writer database and run after the switch.
      - With O(state=replicating), the Deployments to point at the task's source database.
    type: list
    elements: dict
    default: []
    suboptions:
      namespace:
        description: Namespace of the Deployment.
        type: str
        required: true
      deployment:
        description: Name of the Deployment.
        type: str
        required: true
      container:
        description: Container whose environment holds the database settings; the first by default.
        type: str
      replicas:
        description: Replicas to run; by default those it had before it was quiesced, else its current ones (at least 1).
        type: int
      password_secret:
        description: Secret holding the new database's password, referenced by O(password_env).
        type: str
      password_secret_key:
        description: Key of the password in O(applications[].password_secret).
        type: str
        default: password
  writer_namespaces:
    description: Namespaces searched for writers of the old primary; by default those of O(applications).
    type: list
    elements: str
  host_env:
    description: Environment variable holding the database host in the applications.
    type: str
    default: WORDPRESS_DB_HOST
  password_env:
    description: Environment variable holding the database password in the applications.
    type: str
    default: WORDPRESS_DB_PASSWORD
  wait_timeout:
    description: Seconds to wait for a task state change or a rollout.
    type: int
    default: 300
author:
  - eks_ha.resilience maintainers (@eks-ha)
notes:
  - Supports check mode and diff mode; check mode reads everything, runs the pre-checks and shows the plan.
extends_documentation_fragment:
  - eks_ha.resilience.k8s_connection
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Fail over the data tier to RDS in the Region
  eks_ha.resilience.dms_cutover:
    replication_task: wordpress-lz-to-region
    state: cutover
    region: us-east-1
    eks_cluster: eks-ha-lz-region
    max_lag_seconds: 5
    applications:
      - namespace: wordpress
        deployment: wordpress-region
        password_secret: rds-pass
  register: data_failover

- name: Fail back, replication re-established from the Local Zone
  eks_ha.resilience.dms_cutover:
    replication_task: wordpress-lz-to-region
    state: reverse
    region: us-east-1
    eks_cluster: eks-ha-lz-region
    applications:
      - {namespace: wordpress, deployment: wordpress, password_secret: db-instance-pass}
      - {namespace: wordpress, deployment: wordpress-region, password_secret: db-instance-pass}
"""

RETURN = r"""
actions:
  description: What was (or would be) done, one sentence each.
  returned: always
  type: list
  elements: str
writer_before:
  description: The database host the applications wrote to before.
  returned: with O(state=cutover) or O(state=reverse)
  type: str
writer_after:
  description: The database host they write to afterwards.
  returned: with O(state=cutover) or O(state=reverse)
  type: str
lag_at_quiesce_seconds:
  description: CDC latency when the writers were stopped, the data at risk had the old primary died then.
  returned: when a cutover ran
  type: float
rpo_seconds:
  description: Latency at the switch, the RPO achieved (0 after a full drain).
  returned: when a cutover ran
  type: float
timings:
  description: Seconds each step took (precheck, quiesce, drain, stop, repoint, rollout, and for reverse catch_up, resume).
  returned: when something ran
  type: dict
task_status:
  description: Status of the forward task afterwards.
  returned: always
  type: str
diff:
  description: Task states and the applications' database hosts before and after.
  returned: when diff mode is enabled
  type: dict
"""

import datetime
import time

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.eks_ha.resilience.plugins.module_utils import dms
from ansible_collections.eks_ha.resilience.plugins.module_utils import k8s
from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import AnsibleEKSError

JSON_PATCH = "application/json-patch+json"


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


class Refusal(Exception):
    """A safety gate said no; the message is the sentence to fail with."""


class Run:
    def __init__(self, module, connection):
        self.module = module
        self.params = module.params
        self.api = connection.api
        self.client = module.client("dms")
        self.cloudwatch = module.client("cloudwatch")
        self.actions = []
        self.timings = {}
        self.changed = False

    # -- small steps --------------------------------------------------------------------------

    def timed(self, step, started):
        self.timings[step] = round(self.timings.get(step, 0) + time.monotonic() - started, 3)

    def task(self, identifier, required=True):
        task = dms.describe_task(self.client, identifier)
        if task is None and required:
            raise Refusal(f"Replication task {identifier} was not found in {self.module.region}.")
        return task

    def wait_task(self, identifier, done, what):
        deadline = time.monotonic() + self.params["wait_timeout"]
        while True:
            task = self.task(identifier)
            if done(task):
                return task
            if task["Status"] == "failed" or time.monotonic() > deadline:
                raise Refusal(f"Replication task {identifier} did not {what} (status {task['Status']}"
                              f"{': ' + task['LastFailureMessage'] if task.get('LastFailureMessage') else ''}).")
            time.sleep(1)

    def start(self, task, cdc_start_time=None):
        kind = dms.start_type(task)
        if kind is None:
            return task
        identifier = task["ReplicationTaskIdentifier"]
        self.actions.append(f"Start replication task {identifier} with {kind}.")
        self.changed = True
        if self.module.check_mode:
            return task
        if task["Status"] == "creating":
            task = self.wait_task(identifier, lambda t: t["Status"] != "creating", "finish creating")
        dms.start_task(self.client, task["ReplicationTaskArn"], kind, cdc_start_time if kind == "start-replication" else None)
        return self.wait_task(identifier, lambda t: t["Status"] == dms.RUNNING, "start running")

    def latency(self, task):
        instance = dms.describe_instance(self.client, task["ReplicationInstanceArn"])
        if instance is None:
            raise Refusal(f"The replication instance of task {task['ReplicationTaskIdentifier']} was not found.")
        return dms.latest_latency(self.cloudwatch, instance["ReplicationInstanceIdentifier"],
                                  dms.resource_id(task["ReplicationTaskArn"]), self.params["metric_period"], utcnow())

    def deployment(self, namespace, name):
        deployment = k8s.get(self.api, k8s.DEPLOYMENT, name, namespace)
        if deployment is None:
            raise Refusal(f"Deployment {namespace}/{name} (applications) was not found.")
        return deployment

    def writers(self, host):
        """Deployments with replicas whose application writes to ``host``."""
        namespaces = self.params["writer_namespaces"] or sorted({a["namespace"] for a in self.params["applications"]})
        found = []
        for namespace in namespaces:
            for deployment in k8s.list_objects(self.api, k8s.DEPLOYMENT, namespace):
                if (deployment.get("spec") or {}).get("replicas") and dms.writes_to(deployment, self.params["host_env"], host):
                    found.append(deployment)
        return found

    # -- states -------------------------------------------------------------------------------

    def replicating(self):
        params = self.params
        identifier = params["replication_task"]
        task = self.task(identifier, required=False)
        if task is None:
            missing = [o for o in ("source_endpoint_arn", "target_endpoint_arn", "schemas") if not params[o]]
            if not (params["replication_instance_arn"] or params["replication_instance"]):
                missing.append("replication_instance_arn (or replication_instance)")
            if missing:
                raise Refusal(f"Replication task {identifier} does not exist; to create it give {', '.join(missing)}.")
            instance_arn = params["replication_instance_arn"] or self.instance_arn(params["replication_instance"])
            self.actions.append(f"Create replication task {identifier} ({params['migration_type']}) for schemas "
                                f"{', '.join(params['schemas'])}.")
            self.changed = True
            if self.module.check_mode:
                self.point_home(dms.database_host(dms.describe_endpoint(self.client, params["source_endpoint_arn"])))
                return {"task_status": "absent"}
            task = dms.create_task(self.client, dict(
                ReplicationTaskIdentifier=identifier, SourceEndpointArn=params["source_endpoint_arn"],
                TargetEndpointArn=params["target_endpoint_arn"], ReplicationInstanceArn=instance_arn,
                MigrationType=params["migration_type"], TableMappings=dms.table_mappings(params["schemas"])))
        task = self.start(task)
        host = dms.database_host(dms.describe_endpoint(self.client, task["SourceEndpointArn"]))
        self.point_home(host)
        return {"task_status": task["Status"], "writer_after": host}

    def instance_arn(self, identifier):
        instance = dms.describe_instance_by_id(self.client, identifier)
        if instance is None:
            raise Refusal(f"Replication instance {identifier} (replication_instance) was not found in {self.module.region}.")
        return instance["ReplicationInstanceArn"]

    def point_home(self, host):
        """Point each application at ``host`` (the task's source) unless it already is; replicas stay as they are."""
        for application in self.params["applications"]:
            _deployment, index, env, wanted = self.pointed(application, host)
            if wanted == env:
                continue
            self.actions.append(f"Point {application['namespace']}/{application['deployment']} at {host}.")
            self.changed = True
            if not self.module.check_mode:
                k8s.patch(self.api, k8s.DEPLOYMENT, application["deployment"],
                          [{"op": "add", "path": f"/spec/template/spec/containers/{index}/env", "value": wanted}],
                          application["namespace"], content_type=JSON_PATCH)

    def cutover(self):
        forward = self.task(self.params["replication_task"])
        result = self.move(forward)
        result["task_status"] = self.task(forward["ReplicationTaskIdentifier"])["Status"] if not self.module.check_mode \
            else ("stopped" if self.changed else forward["Status"])
        return result

    def reverse(self):
        params = self.params
        forward = self.task(params["replication_task"])
        identifier = params["reverse_task"] or f"{params['replication_task']}-reverse"
        back = self.task(identifier, required=False)
        home_host = dms.database_host(dms.describe_endpoint(self.client, forward["SourceEndpointArn"]))
        if forward["Status"] == dms.RUNNING and self.all_point_at(home_host):
            return {"task_status": forward["Status"], "writer_before": home_host, "writer_after": home_host}
        started = time.monotonic()
        # In check mode a task that would be created or restarted is not running yet: only the plan is shown.
        planned = back is None or dms.start_type(back) is not None
        if back is None:
            stopped_at = (forward.get("ReplicationTaskStats") or {}).get("StopDate")
            if forward["Status"] == dms.RUNNING or not stopped_at:
                raise Refusal(f"Replication task {forward['ReplicationTaskIdentifier']} has not been cut over (it is "
                              f"{forward['Status']}); there is nothing to reverse.")
            self.actions.append(f"Create replication task {identifier} (cdc from {stopped_at.isoformat()}) back to the home site.")
            self.changed = True
            if not self.module.check_mode:
                back = dms.create_task(self.client, dms.reverse_task_params(forward, identifier, stopped_at))
                back = self.start(back, stopped_at)
        else:
            back = self.start(back)
        if not self.module.check_mode:
            self.catch_up(back)
        self.timed("catch_up", started)
        if self.module.check_mode and back is None:
            self.actions.append(f"Then cut over back to {home_host} and resume {forward['ReplicationTaskIdentifier']}.")
            return {"task_status": forward["Status"], "writer_after": home_host}
        result = self.move(back, planned_start=planned)
        started = time.monotonic()
        self.start(forward)
        self.timed("resume", started)
        result["task_status"] = forward["Status"] if self.module.check_mode else self.task(forward["ReplicationTaskIdentifier"])["Status"]
        return result

    def catch_up(self, task):
        """Wait until a freshly (re)started task is within the lag budget."""
        deadline = time.monotonic() + self.params["drain_timeout"]
        while True:
            current = dms.lag(self.latency(task))
            if current is not None and current <= self.params["max_lag_seconds"]:
                return
            if time.monotonic() > deadline:
                raise Refusal(f"Replication task {task['ReplicationTaskIdentifier']} did not catch up within "
                              f"{self.params['drain_timeout']} s (lag {current} s); nothing was switched.")
            time.sleep(1)

    def all_point_at(self, host):
        return all(dms.writes_to(self.deployment(a["namespace"], a["deployment"]), self.params["host_env"], host)
                   for a in self.params["applications"])

    # -- the cutover itself -------------------------------------------------------------------

    def move(self, task, planned_start=False):
        """Cut over along ``task``; ``planned_start``: in check mode the task was only planned to (re)start."""
        params = self.params
        old_host = dms.database_host(dms.describe_endpoint(self.client, task["SourceEndpointArn"]))
        new_host = dms.database_host(dms.describe_endpoint(self.client, task["TargetEndpointArn"]))
        result = {"writer_before": old_host, "writer_after": new_host}
        writers = self.writers(old_host)
        if task["Status"] in dms.STOPPED_STATES and not writers and self.all_point_at(new_host):
            return result  # already cut over
        started = time.monotonic()
        if planned_start and self.module.check_mode:
            self.actions.append(f"Quiesce the writers of {old_host}, drain, stop {task['ReplicationTaskIdentifier']}, "
                                f"point the applications at {new_host}.")
            return result
        if task["Status"] != dms.RUNNING:
            raise Refusal(f"Replication task {task['ReplicationTaskIdentifier']} is {task['Status']}, not running: writes "
                          f"made to {old_host} since it stopped are not on {new_host}. Resume it first; nothing was changed.")
        before_lag = dms.lag(self.latency(task))
        if before_lag is None:
            raise Refusal(f"No CDC latency of task {task['ReplicationTaskIdentifier']} in CloudWatch yet; cannot prove the "
                          "lag budget. Nothing was changed.")
        if before_lag > params["max_lag_seconds"]:
            raise Refusal(f"The CDC latency of task {task['ReplicationTaskIdentifier']} is {before_lag:g} s, above "
                          f"max_lag_seconds {params['max_lag_seconds']:g}; {old_host} keeps serving and nothing was changed.")
        self.timed("precheck", started)
        names = ", ".join(f"{w['metadata']['namespace']}/{w['metadata']['name']}" for w in writers) or "none"
        self.actions += [f"Quiesce the writers of {old_host}: {names}.",
                         f"Wait until task {task['ReplicationTaskIdentifier']} has applied every change (lag now {before_lag:g} s).",
                         f"Stop task {task['ReplicationTaskIdentifier']}.",
                         f"Point {', '.join(a['namespace'] + '/' + a['deployment'] for a in params['applications'])} at {new_host}."]
        self.changed = True
        if self.module.check_mode:
            return result
        started = time.monotonic()
        quiesced_at = utcnow()
        for writer in writers:
            self.quiesce(writer)
        self.wait_quiet(writers)
        self.timed("quiesce", started)
        started = time.monotonic()
        at_quiesce, at_switch = self.drain(task, writers, dms.settled_from(quiesced_at, params["metric_period"]))
        self.timed("drain", started)
        result.update(lag_at_quiesce_seconds=at_quiesce, rpo_seconds=at_switch)
        started = time.monotonic()
        dms.stop_task(self.client, task["ReplicationTaskArn"])
        self.wait_task(task["ReplicationTaskIdentifier"], lambda t: t["Status"] == "stopped", "stop")
        self.timed("stop", started)
        started = time.monotonic()
        for application in params["applications"]:
            self.point(application, new_host)
        self.timed("repoint", started)
        started = time.monotonic()
        self.wait_ready()
        self.timed("rollout", started)
        return result

    def quiesce(self, writer):
        meta = writer["metadata"]
        replicas = writer["spec"]["replicas"]
        k8s.patch(self.api, k8s.DEPLOYMENT, meta["name"],
                  {"metadata": {"annotations": {dms.REPLICAS_ANNOTATION: str(replicas)}}, "spec": {"replicas": 0}},
                  meta["namespace"], content_type=k8s.MERGE)

    def wait_quiet(self, writers):
        """Wait until no pod of the quiesced writers runs (their connections are closed)."""
        def quiet(_state):
            for writer in writers:
                current = k8s.get(self.api, k8s.DEPLOYMENT, writer["metadata"]["name"], writer["metadata"]["namespace"])
                if ((current or {}).get("status") or {}).get("replicas"):
                    return False
            return True

        satisfied, _state, _waited = k8s.Waiter(0.5).wait(lambda: None, quiet, self.params["wait_timeout"])
        if not satisfied:
            self.restore(writers)
            raise Refusal("The writers did not stop within wait_timeout; they were scaled back up on the old primary.")

    def drain(self, task, writers, since):
        """``(lag at quiesce, lag at switch)`` once the task has applied everything; else restore and refuse."""
        deadline = time.monotonic() + self.params["drain_timeout"]
        first = None
        while True:
            latest = self.latency(task)
            current = dms.lag(latest)
            if first is None and current is not None:
                first = current
            if dms.drained(latest, since):
                return first or 0.0, current
            if time.monotonic() > deadline:
                self.restore(writers)
                raise Refusal(f"Task {task['ReplicationTaskIdentifier']} still had {current} s of changes to apply after "
                              f"drain_timeout {self.params['drain_timeout']} s; the writers were brought back on the old "
                              "primary and nothing was switched.")
            time.sleep(1)

    def restore(self, writers):
        for writer in writers:
            meta = writer["metadata"]
            k8s.patch(self.api, k8s.DEPLOYMENT, meta["name"],
                      {"metadata": {"annotations": {dms.REPLICAS_ANNOTATION: None}},
                       "spec": {"replicas": writer["spec"]["replicas"]}}, meta["namespace"], content_type=k8s.MERGE)

    def pointed(self, application, host):
        """``(deployment, container index, env, env pointed at host)`` of one of the applications."""
        deployment = self.deployment(application["namespace"], application["deployment"])
        index, env = dms.container_env(deployment, application.get("container"))
        if index is None:
            raise Refusal(f"Deployment {application['namespace']}/{application['deployment']} has no container "
                          f"{application.get('container')}.")
        wanted = dms.pointed_env(env, self.params["host_env"], host, self.params["password_env"],
                                 application.get("password_secret"), application.get("password_secret_key") or "password")
        return deployment, index, env, wanted

    def point(self, application, host):
        deployment, index, _env, wanted = self.pointed(application, host)
        replicas = dms.replicas_to_restore(deployment, application.get("replicas"))
        operations = [{"op": "add", "path": f"/spec/template/spec/containers/{index}/env", "value": wanted},
                      {"op": "add", "path": "/spec/replicas", "value": replicas}]
        annotations = (deployment["metadata"].get("annotations") or {})
        if dms.REPLICAS_ANNOTATION in annotations:
            key = dms.REPLICAS_ANNOTATION.replace("~", "~0").replace("/", "~1")
            operations.append({"op": "remove", "path": f"/metadata/annotations/{key}"})
        k8s.patch(self.api, k8s.DEPLOYMENT, application["deployment"], operations, application["namespace"],
                  content_type=JSON_PATCH)

    def wait_ready(self):
        for application in self.params["applications"]:
            satisfied, _d, _w = k8s.wait_for(self.api, k8s.DEPLOYMENT, application["deployment"], application["namespace"],
                                             self.params["wait_timeout"])
            if not satisfied:
                raise Refusal(f"Deployment {application['namespace']}/{application['deployment']} did not become Ready "
                              f"within {self.params['wait_timeout']} s on the new database.")

    def snapshot(self):
        """Task states and the applications' database hosts, for --diff."""
        identifiers = [self.params["replication_task"]]
        if self.params["state"] == "reverse":
            identifiers.append(self.params["reverse_task"] or f"{self.params['replication_task']}-reverse")
        tasks = {i: (self.task(i, required=False) or {}).get("Status", "absent") for i in identifiers}
        hosts = {}
        for application in self.params["applications"]:
            deployment = k8s.get(self.api, k8s.DEPLOYMENT, application["deployment"], application["namespace"])
            env = dms.container_env(deployment or {}, application.get("container"))[1]
            hosts[f"{application['namespace']}/{application['deployment']}"] = dms.env_value(env, self.params["host_env"])
        return {"tasks": tasks, "applications": hosts}


def planned_snapshot(before, result):
    """What --diff shows in check mode: the applications on the planned writer (task states as they are)."""
    after = {"tasks": dict(before["tasks"]), "applications": dict(before["applications"])}
    if result.get("writer_after"):
        after["applications"] = {name: result["writer_after"] for name in after["applications"]}
    return after


def validate(params):
    if params["max_lag_seconds"] < 0:
        return "max_lag_seconds must be 0 or more."
    for option in ("drain_timeout", "wait_timeout", "metric_period"):
        if params[option] <= 0:
            return f"{option} must be a positive number of seconds."
    if params["state"] in ("cutover", "reverse") and not params["applications"]:
        return f"state {params['state']} needs applications: the Deployments to point at the new writer database."
    return None


def main():
    application_options = dict(
        namespace=dict(type="str", required=True),
        deployment=dict(type="str", required=True),
        container=dict(type="str"),
        replicas=dict(type="int"),
        password_secret=dict(type="str", no_log=False),
        password_secret_key=dict(type="str", default="password", no_log=False),
    )
    argument_spec = dict(
        **k8s.CONNECTION_ARGUMENT_SPEC,
        replication_task=dict(type="str", required=True),
        state=dict(type="str", required=True, choices=["replicating", "cutover", "reverse"]),
        reverse_task=dict(type="str"),
        source_endpoint_arn=dict(type="str"),
        target_endpoint_arn=dict(type="str"),
        replication_instance_arn=dict(type="str"),
        replication_instance=dict(type="str"),
        schemas=dict(type="list", elements="str"),
        migration_type=dict(type="str", default="full-load-and-cdc", choices=["full-load-and-cdc", "cdc"]),
        max_lag_seconds=dict(type="float", default=5),
        drain_timeout=dict(type="int", default=120),
        metric_period=dict(type="int", default=60),
        applications=dict(type="list", elements="dict", options=application_options, default=[]),
        writer_namespaces=dict(type="list", elements="str"),
        host_env=dict(type="str", default="WORDPRESS_DB_HOST"),
        password_env=dict(type="str", default="WORDPRESS_DB_PASSWORD", no_log=False),
        wait_timeout=dict(type="int", default=300),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True,
                              mutually_exclusive=k8s.CONNECTION_MUTUALLY_EXCLUSIVE + [
                                  ["replication_instance_arn", "replication_instance"]])
    problem = validate(module.params)
    if problem:
        module.fail_json(msg=problem)
    run = Run(module, k8s.connect(module))
    try:
        before = run.snapshot() if module._diff else None
        result = getattr(run, module.params["state"])()
        result.update(changed=run.changed, actions=run.actions, timings=run.timings)
        if module._diff:
            result["diff"] = {"before": before, "after": planned_snapshot(before, result) if module.check_mode
                              else run.snapshot()}
    except Refusal as e:
        module.fail_json(msg=str(e), actions=run.actions, timings=run.timings)
    except k8s.K8sError as e:
        module.fail_json(msg=e.message, actions=run.actions)
    except (dms.AnsibleDMSError, AnsibleEKSError) as e:
        module.fail_json_aws_error(e)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
