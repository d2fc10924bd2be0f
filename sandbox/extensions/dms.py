"""DMS: replication tasks that move real rows between the sandbox's MariaDB servers, with real CDC lag.

moto keeps the replication instances, endpoints and tasks; every call goes to it except the ones that
need a replication engine, which are answered (or completed) here:

* An endpoint reaches a sandbox database through its AWS-side address (``ServerName``:``Port``, see
  ``sandbox.databases``); nothing answers at any other address, nor at a database whose site is failed.
  ``TestConnection`` really logs in with the endpoint's user and password (and ``DatabaseName``, when
  given); ``DescribeConnections`` reports ``successful``, or ``failed`` with the MySQL error in DMS's words.
* A task is ``creating`` for ``CREATE_SECONDS * time_scale`` seconds, then ``ready``. ``ResourceIdentifier``
  names its ARN, as on AWS (the last field of the ARN is the ``ReplicationTaskIdentifier`` dimension of
  its metrics). ``StartReplicationTask`` answers ``starting``; the task is ``running`` once both endpoints
  answer; ``StopReplicationTask`` answers ``stopping`` and the task is ``stopped`` ("Stop Reason NORMAL")
  once its engine has let go; any error ends it ``failed`` ("Stop Reason FATAL_ERROR", ``LastFailureMessage``
  as DMS words it). ``start-replication`` is for a task's first run only (after that DMS refuses it with
  InvalidParameterCombinationException "Start Type : START_REPLICATION, valid only for tasks running for the
  first time"); ``resume-processing`` continues from the checkpoint (reloading the tables a stopped full load
  had not finished); ``reload-target`` redoes the full load.
* The engine, one thread per running task: the full load (``full-load``, ``full-load-and-cdc``) copies every
  table the selection rules of ``TableMappings`` include (``%`` wildcards, exclusions win) into the schema
  of the same name on the target, or into the target endpoint's ``DatabaseName``, creating tables with the
  source's CREATE TABLE and honouring ``FullLoadSettings.TargetTablePrepMode`` (default DROP_AND_CREATE).
  Change data capture (``cdc``, ``full-load-and-cdc``) reads the source's binary log (ROW events, through
  mysql-replication) from the position taken before the full load, from ``CdcStartPosition`` or
  ``CdcStartTime``, or from now, and applies each transaction to the target in order, inserts and updates
  as REPLACE and deletes by primary key, so a replay after a resume is harmless; a table missing on the
  target is created first. The checkpoint (binlog file and position after the last applied transaction)
  survives stop and failure.
* Lag is real: the engine reads the binlog ahead every ``CAPTURE_SECONDS`` and applies what it read one
  event at a time, each after ``apply_delay`` seconds (0 unless set through the control API).
  ``CDCLatencySource`` is the age of the newest event read (0 when the last read reached the end of the
  binlog), ``CDCLatencyTarget`` the age of the oldest event read and not yet applied (0 when none is
  pending); both go to CloudWatch (namespace AWS/DMS, dimensions ReplicationInstanceIdentifier and
  ReplicationTaskIdentifier) every second while a task captures changes. ``DescribeTableStatistics``
  counts each table's full-load rows and applied inserts, updates and deletes.

Not modelled: DDL capture, transformation rules, CdcStopPosition, ModifyReplicationTask, validation.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

import pymysql
from moto.cloudwatch.models import cloudwatch_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dms.models import dms_backends
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.constants import FIELD_TYPE
from pymysqlreplication.event import MariadbGtidEvent, QueryEvent, XidEvent
from pymysqlreplication.row_event import DeleteRowsEvent, RowsEvent, UpdateRowsEvent, WriteRowsEvent
from werkzeug.wrappers import Response

from sandbox.databases import LOCAL_HOST, DatabaseRegistry, DatabaseServer, Unreachable, quote
from sandbox.extensions.base import Extension, Handler
from sandbox.protocol import AwsRequest, Forward, json11_error, json_response

TARGET_PREFIX = "AmazonDMSv20160101."
METRIC_NAMESPACE = "AWS/DMS"
CREATE_SECONDS = 2.0  # model seconds a new task stays "creating"
PUBLISH_SECONDS = 1.0
CAPTURE_SECONDS = 0.1
LOAD_BATCH = 500
REPLICA_SERVER_ID = 1000  # each task reads the binlog as replica 1001, 1002, ...
MYSQL_ENGINES = ("mysql", "mariadb", "aurora")
SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")
SESSION = "SET time_zone = '+00:00', foreign_key_checks = 0"
ACTIVE = ("starting", "running", "stopping")

STOP_NORMAL = "Stop Reason NORMAL"
STOP_FULL_LOAD_ONLY = "Stop Reason FULL_LOAD_ONLY_FINISHED"
STOP_FATAL = "Stop Reason FATAL_ERROR"
NO_TABLES = ("No tables were found at task initialization. Either the selected table(s) no longer exist or no "
             "match was found for the table selection pattern(s).")

_POSITION = re.compile(r"(?P<file>[A-Za-z0-9_.-]+\.\d+):(?P<pos>\d+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """An error the service answers with: its code and message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class EndpointFailure(Exception):
    """A database behind an endpoint refused or could not be reached: the MySQL error code and message."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def odbc(self) -> str:
        """The error as DMS's MySQL ODBC driver reports it."""
        return (f"RetCode: SQL_ERROR SqlState: HY000 NativeError: {self.code} "
                f"Message: [MySQL][ODBC 8.0(w) Driver]{self.message}")


class Stopped(Exception):
    """The task was asked to stop."""


@dataclass(frozen=True)
class Position:
    """A place in a binary log: file and byte offset."""

    file: str
    pos: int

    def __str__(self) -> str:
        return f"{self.file}:{self.pos}"

    @property
    def checkpoint(self) -> str:
        """The position in DMS's RecoveryCheckpoint form (accepted back as a CdcStartPosition)."""
        return f"checkpoint:V1#1#{self}:-1:{self.pos}:0:{self}#0#0#*#0#0"


# Where change data capture starts: a binlog position, a time (epoch seconds), or None for "now".
Origin = Position | float | None


def parse_origin(position: str | None, start_time: Any) -> Origin:
    """The CDC origin a CdcStartPosition (LSN, checkpoint or date) or a CdcStartTime names."""
    if position and start_time is not None:
        raise ServiceError("InvalidParameterCombinationException",
                           "Specify either CdcStartPosition or CdcStartTime, not both.")
    if start_time is not None:
        return epoch(start_time)
    if not position:
        return None
    if _DATE.fullmatch(position.strip()):
        return epoch(position.strip())
    match = _POSITION.search(position)
    if match is None:
        raise ServiceError("InvalidParameterValueException", "Invalid CdcStartPosition format")
    return Position(match["file"], int(match["pos"]))


def epoch(value: Any) -> float:
    """Seconds since the epoch from a JSON timestamp (number) or an ISO 8601 date (UTC unless zoned)."""
    if isinstance(value, (int, float)):
        return float(value)
    moment = datetime.fromisoformat(str(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


@dataclass(frozen=True)
class Selection:
    """The selection rules of a task's table mappings: (schema, table) patterns included and excluded."""

    includes: tuple[tuple[re.Pattern, re.Pattern], ...]
    excludes: tuple[tuple[re.Pattern, re.Pattern], ...]

    @classmethod
    def parse(cls, table_mappings: str | None) -> Selection:
        try:
            rules = json.loads(table_mappings or "{}").get("rules", [])
        except (ValueError, AttributeError):
            raise ServiceError("InvalidParameterValueException", "Invalid table mappings document: not JSON.") from None
        chosen: dict[bool, list[tuple[re.Pattern, re.Pattern]]] = {True: [], False: []}
        for rule in rules:
            if rule.get("rule-type") == "selection":
                locator = rule.get("object-locator", {})
                patterns = (pattern(locator.get("schema-name", "%")), pattern(locator.get("table-name", "%")))
                chosen[rule.get("rule-action") != "exclude"].append(patterns)
        return cls(tuple(chosen[True]), tuple(chosen[False]))

    def selects(self, schema: str, table: str) -> bool:
        def hit(rules: Iterable[tuple[re.Pattern, re.Pattern]]) -> bool:
            return any(s.fullmatch(schema) and t.fullmatch(table) for s, t in rules)

        return schema not in SYSTEM_SCHEMAS and hit(self.includes) and not hit(self.excludes)


def pattern(text: str) -> re.Pattern:
    """A DMS object-locator name as a regex: ``%`` matches any run of characters."""
    return re.compile(".*".join(re.escape(part) for part in text.split("%")))


@dataclass(frozen=True)
class Endpoint:
    """What the engine needs of a DMS endpoint."""

    arn: str
    identifier: str
    engine: str
    server: str
    port: int
    username: str
    password: str
    database: str | None

    @classmethod
    def of(cls, endpoint: Any) -> Endpoint:
        settings = endpoint.my_sql_settings or {}
        return cls(endpoint.endpoint_arn, endpoint.endpoint_identifier, (endpoint.engine_name or "").lower(),
                   endpoint.server_name or settings.get("ServerName", ""), int(endpoint.port or settings.get("Port") or 0),
                   endpoint.username or settings.get("Username", ""), endpoint.password or settings.get("Password", ""),
                   endpoint.database_name or settings.get("DatabaseName"))


@dataclass
class TableProgress:
    """One table of a task, as DescribeTableStatistics reports it."""

    schema: str
    table: str
    state: str = "Before load"
    full_load_rows: int = 0
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    full_load_start: float | None = None
    full_load_end: float | None = None
    reloaded: bool = False
    last_update: float | None = None

    def describe(self) -> dict[str, Any]:
        return drop_none({
            "SchemaName": self.schema, "TableName": self.table, "Inserts": self.inserts, "Deletes": self.deletes,
            "Updates": self.updates, "Ddls": 0, "AppliedInserts": self.inserts, "AppliedDeletes": self.deletes,
            "AppliedUpdates": self.updates, "AppliedDdls": 0, "FullLoadRows": self.full_load_rows,
            "FullLoadCondtnlChkFailedRows": 0, "FullLoadErrorRows": 0, "FullLoadStartTime": self.full_load_start,
            "FullLoadEndTime": self.full_load_end, "FullLoadReloaded": self.reloaded,
            "LastUpdateTime": self.last_update, "TableState": self.state, "ValidationState": "Not enabled",
            "ValidationPendingRecords": 0, "ValidationFailedRecords": 0, "ValidationSuspendedRecords": 0,
        })


@dataclass
class TaskState:
    """What DMS knows of a task beyond its definition (kept by moto): its runs, progress and lag."""

    arn: str
    region: str
    server_id: int
    ready_at: float  # monotonic
    origin: Origin
    cdc_start_position: str | None
    phase: str = "ready"
    has_run: bool = False
    stop_reason: str | None = None
    last_failure: str | None = None
    fresh_start_date: float | None = None
    start_date: float | None = None
    stop_date: float | None = None
    full_load_start: float | None = None
    full_load_finish: float | None = None
    full_load_done: bool = False
    tables: dict[tuple[str, str], TableProgress] = field(default_factory=dict)
    rows_expected: int = 0
    checkpoint: Position | None = None
    applied_events: int = 0
    capturing: bool = False
    newest_read: float | None = None
    caught_up: bool = True
    read_started: float | None = None  # when the last binlog read began (time.time())
    pending: deque = field(default_factory=deque)  # of Transaction, read and not yet applied
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def status(self) -> str:
        return "creating" if time.monotonic() < self.ready_at else self.phase

    @property
    def resource_id(self) -> str:
        return self.arn.rsplit(":", 1)[-1]

    def latencies(self, now: float) -> tuple[float, float]:
        """(CDCLatencySource, CDCLatencyTarget) in seconds at ``now``."""
        source = 0.0 if self.caught_up or self.newest_read is None else max(now - self.newest_read, 0.0)
        if self.read_started is not None:
            # A reader that has not looked at the binlog for longer than its capture interval (a starved thread on a
            # busy machine) cannot vouch that it is caught up: the time it has not looked counts as latency.
            stale = now - self.read_started - 2 * CAPTURE_SECONDS
            source = max(source, stale)
        target = max(now - self.pending[0].timestamp, 0.0) if self.pending else 0.0
        return source, target

    def stats(self) -> dict[str, Any]:
        states = [t.state for t in self.tables.values()]
        end = self.stop_date if self.phase in ("stopped", "failed") else time.time()
        return drop_none({
            "FullLoadProgressPercent": self.progress(), "TablesLoaded": states.count("Table completed"),
            "ElapsedTimeMillis": int((end - self.start_date) * 1000) if self.start_date else 0,
            "TablesLoading": states.count("Full load") + states.count("Table is being reloaded"),
            "TablesQueued": states.count("Before load"), "TablesErrored": states.count("Table error"),
            "FreshStartDate": self.fresh_start_date, "StartDate": self.start_date, "StopDate": self.stop_date,
            "FullLoadStartDate": self.full_load_start, "FullLoadFinishDate": self.full_load_finish,
        })

    def progress(self) -> int:
        if self.full_load_done:
            return 100
        loaded = sum(t.full_load_rows for t in self.tables.values())
        return min(99, loaded * 100 // self.rows_expected) if self.rows_expected else 0

    def describe(self) -> dict[str, Any]:
        """The fields of a DescribeReplicationTasks entry that come from the task's runs."""
        return drop_none({
            "Status": self.status, "LastFailureMessage": self.last_failure, "StopReason": self.stop_reason,
            "ReplicationTaskStartDate": self.start_date, "CdcStartPosition": self.cdc_start_position,
            "RecoveryCheckpoint": self.checkpoint.checkpoint if self.checkpoint else None,
            "ReplicationTaskStats": self.stats(),
        })


@dataclass(frozen=True)
class Change:
    """One binlog rows event: a kind of change to one table, with (before, after) images per row."""

    kind: str  # insert | update | delete
    schema: str
    table: str
    key: tuple[str, ...]
    rows: tuple[tuple[dict[str, Any] | None, dict[str, Any] | None], ...]

    @classmethod
    def of(cls, event: RowsEvent) -> Change:
        types = {column.name: column.type for column in event.columns}
        key = (event.primary_key,) if isinstance(event.primary_key, str) else tuple(event.primary_key or ())

        def image(values: dict[str, Any] | None) -> dict[str, Any] | None:
            return None if values is None else {name: sql_value(types.get(name), v) for name, v in values.items()}

        if isinstance(event, UpdateRowsEvent):
            kind, rows = "update", [(image(r["before_values"]), image(r["after_values"])) for r in event.rows]
        elif isinstance(event, DeleteRowsEvent):
            kind, rows = "delete", [(image(r["values"]), None) for r in event.rows]
        else:
            kind, rows = "insert", [(None, image(r["values"])) for r in event.rows]
        return cls(kind, event.schema, event.table, tuple(c for c in key if c), tuple(rows))


def sql_value(column_type: int | None, value: Any) -> Any:
    """A decoded binlog value as a statement parameter (SET members joined, BIT strings as numbers)."""
    if isinstance(value, (set, frozenset)):
        return ",".join(sorted(value))
    if column_type == FIELD_TYPE.BIT and isinstance(value, str):
        return int(value, 2)
    return value


@dataclass(frozen=True)
class Transaction:
    """A source transaction's changes to selected tables, where it ends in the binlog, and when it committed."""

    changes: tuple[Change, ...]
    end: Position
    timestamp: float


class BinlogCapture:
    """Reads a source's binary log from a position, a non-blocking dump at a time, transaction by transaction."""

    def __init__(self, connection: dict[str, Any], server_id: int, position: Position, selection: Selection):
        self.connection = connection
        self.server_id = server_id
        self.position = position
        self.selection = selection
        self.newest: float | None = None

    def stream(self, position: Position, events: list[type]) -> BinLogStreamReader:
        return BinLogStreamReader(dict(self.connection), server_id=self.server_id, log_file=position.file,
                                  log_pos=position.pos, resume_stream=True, blocking=False, only_events=events,
                                  enable_logging=False)

    def read(self) -> list[Transaction]:
        """Every complete transaction logged since the last read, with its changes to selected tables."""
        stream = self.stream(self.position, [MariadbGtidEvent, WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent,
                                             XidEvent, QueryEvent])
        transactions: list[Transaction] = []
        changes: list[Change] = []
        try:
            for event in stream:
                if isinstance(event, MariadbGtidEvent):
                    changes = []
                elif isinstance(event, RowsEvent):
                    if self.selection.selects(event.schema, event.table):
                        changes.append(Change.of(event))
                elif not (isinstance(event, QueryEvent) and event.query.strip().upper() == "BEGIN"):
                    self.position = Position(stream.log_file, stream.log_pos)  # a transaction (or DDL) ended
                    self.newest = float(event.timestamp)
                    if changes:
                        transactions.append(Transaction(tuple(changes), self.position, float(event.timestamp)))
                    changes = []
        finally:
            stream.close()
        return transactions

    def position_at(self, moment: float) -> Position:
        """Where the first transaction committed at or after ``moment`` (to the second) begins, from here on."""
        stream = self.stream(self.position, [MariadbGtidEvent, XidEvent, QueryEvent])
        boundary = self.position
        try:
            for event in stream:
                if isinstance(event, MariadbGtidEvent) and event.timestamp >= math.floor(moment):
                    return boundary
                if not isinstance(event, MariadbGtidEvent):
                    boundary = Position(stream.log_file, stream.log_pos)
            return Position(stream.log_file, stream.log_pos)
        finally:
            stream.close()


@dataclass(frozen=True)
class Plan:
    """How one start of a task runs: what it loads and where its change data capture begins."""

    migration_type: str
    start_type: str
    source: Endpoint
    target: Endpoint
    selection: Selection
    prep_mode: str
    fail_on_no_tables: bool
    origin: Origin

    @property
    def loads(self) -> bool:
        return self.migration_type != "cdc"

    @property
    def captures(self) -> bool:
        return self.migration_type != "full-load"


class TaskRun:
    """One start of a task, on its own thread: connect, full load, then change data capture."""

    def __init__(self, extension: DmsExtension, state: TaskState, plan: Plan):
        self.extension = extension
        self.state = state
        self.plan = plan
        self.source: pymysql.Connection | None = None
        self.target: pymysql.Connection | None = None

    def run(self) -> None:
        try:
            self.source = self.extension.connect(self.plan.source)
            self.target = self.extension.connect(self.plan.target, autocommit=False)
            with self.extension.lock:
                if self.state.phase == "starting":
                    self.state.phase = "running"
            tables = self.tables()
            if self.plan.captures:
                # Taken before the full load, and kept: a resumed task replays from here what it has not applied.
                self.update(checkpoint=self.state.checkpoint or self.origin())
            if self.plan.loads:
                self.full_load(tables)
            if self.plan.captures:
                self.replicate(self.state.checkpoint)  # until stopped or broken
            else:
                self.finish("stopped", STOP_FULL_LOAD_ONLY)
        except Stopped:
            self.finish("stopped", STOP_NORMAL)
        except EndpointFailure as failure:
            self.fail(failure.odbc)
        except pymysql.err.MySQLError as error:
            self.fail(EndpointFailure(*error.args[:2]).odbc)
        except Exception as error:  # noqa: BLE001 - whatever breaks the engine fails the task, as on DMS
            log.exception("DMS task %s failed", self.state.arn)
            self.fail(str(error))
        finally:
            for connection in (self.source, self.target):
                if connection is not None and connection.open:
                    connection.close()

    # -- bookkeeping --------------------------------------------------------------------------

    def update(self, **fields: Any) -> None:
        with self.extension.lock:
            for name, value in fields.items():
                setattr(self.state, name, value)

    def finish(self, phase: str, reason: str, failure: str | None = None) -> None:
        self.update(phase=phase, stop_reason=reason, last_failure=failure, stop_date=time.time(), capturing=False,
                    caught_up=True)
        with self.extension.lock:
            self.state.pending.clear()

    def fail(self, detail: str) -> None:
        """End the run failed, with DMS's kind of message: the cause, within its stream component's report."""
        summary = "Stream Component Fatal error." if self.state.phase == "running" else "Endpoint initialization failed."
        component = f"st_0_{self.state.resource_id}"
        self.finish("failed", STOP_FATAL, (
            f"Last Error {summary} Task error notification received from subtask 0, thread 0 "
            f"[reptask/replicationtask.c:2883] [1020401] {detail}; Stream component '{component}' terminated "
            f"[reptask/replicationtask.c:2891] [1020401] {STOP_FATAL} Error Level FATAL"))

    def check(self) -> None:
        """Raise Stopped when asked to stop, EndpointFailure when an endpoint's database no longer answers."""
        if self.state.stopping.is_set():
            raise Stopped()
        for endpoint in (self.plan.source, self.plan.target):
            self.extension.reach(endpoint)

    # -- what to move -------------------------------------------------------------------------

    def tables(self) -> list[tuple[str, str]]:
        """The source's tables the selection rules include (failing the task when there are none)."""
        with self.source.cursor() as cursor:
            cursor.execute("SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES "
                           "WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME")
            found = [(s, t, rows or 0) for s, t, rows in cursor.fetchall() if self.plan.selection.selects(s, t)]
        if not found and self.plan.fail_on_no_tables:
            raise EndpointFailure(0, NO_TABLES)
        with self.extension.lock:
            self.state.rows_expected = sum(rows for _s, _t, rows in found)
            for schema, table, _rows in found:
                progress = self.state.tables.setdefault((schema, table), TableProgress(schema, table))
                if not self.plan.loads:
                    progress.state = "Table completed"
        return [(schema, table) for schema, table, _rows in found]

    def origin(self) -> Position:
        """Where change data capture starts (the plan's position or time, else now) in the source's binlog."""
        origin = self.plan.origin
        if isinstance(origin, Position):
            return origin
        with self.source.cursor() as cursor:
            if isinstance(origin, float):
                cursor.execute("SHOW BINARY LOGS")
                return self.capture(Position(cursor.fetchone()[0], 4)).position_at(origin)
            cursor.execute("SHOW MASTER STATUS")
            status = cursor.fetchone()
        if status is None:
            raise EndpointFailure(0, "Binary logging must be enabled for the MySQL source (log_bin is OFF).")
        return Position(status[0], int(status[1]))

    def capture(self, position: Position) -> BinlogCapture:
        endpoint = self.plan.source
        server = self.extension.reach(endpoint)
        connection = {"host": LOCAL_HOST, "port": server.port, "user": endpoint.username,
                      "passwd": endpoint.password, "connect_timeout": 5}
        return BinlogCapture(connection, self.state.server_id, position, self.plan.selection)

    def target_schema(self, schema: str) -> str:
        return self.plan.target.database or schema

    # -- full load ----------------------------------------------------------------------------

    def full_load(self, tables: list[tuple[str, str]]) -> None:
        """Load every table (reload-target), else those a stopped full load had not finished."""
        reload = self.plan.start_type == "reload-target"
        pending = [t for t in tables if reload or self.state.tables[t].state != "Table completed"]
        if not pending:
            return
        self.update(full_load_start=time.time(), full_load_finish=None, full_load_done=False)
        with self.extension.lock:
            for key in pending:
                self.state.tables[key].state = "Before load"
        for schema, table in pending:
            self.load_table(self.state.tables[(schema, table)])
        self.update(full_load_finish=time.time(), full_load_done=True)

    def load_table(self, progress: TableProgress) -> None:
        """Prepare the target table as the task's prep mode says, then copy every source row in batches."""
        self.check()
        name = f"{quote(progress.schema)}.{quote(progress.table)}"
        with self.extension.lock:
            progress.reloaded = progress.full_load_end is not None
            progress.state = "Table is being reloaded" if progress.reloaded else "Full load"
            progress.full_load_rows, progress.full_load_start, progress.full_load_end = 0, time.time(), None
        self.prepare_table(progress.schema, progress.table)
        target_name = f"{quote(self.target_schema(progress.schema))}.{quote(progress.table)}"
        with self.source.cursor(pymysql.cursors.SSCursor) as rows, self.target.cursor() as cursor:
            rows.execute(f"SELECT * FROM {name}")
            columns = ", ".join(quote(c[0]) for c in rows.description)
            statement = f"INSERT INTO {target_name} ({columns}) VALUES ({', '.join(['%s'] * len(rows.description))})"
            while batch := rows.fetchmany(LOAD_BATCH):
                self.check()
                cursor.executemany(statement, batch)
                self.target.commit()
                with self.extension.lock:
                    progress.full_load_rows += len(batch)
        with self.extension.lock:
            progress.state, progress.full_load_end = "Table completed", time.time()

    def prepare_table(self, schema: str, table: str, mode: str | None = None) -> None:
        """Create the target table from the source's definition; drop or empty it first per the prep mode."""
        mode = mode or self.plan.prep_mode
        with self.source.cursor() as cursor:
            cursor.execute(f"SHOW CREATE TABLE {quote(schema)}.{quote(table)}")
            definition = cursor.fetchone()[1]
        target_schema = self.target_schema(schema)
        with self.target.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS {quote(target_schema)}")
            cursor.execute(f"USE {quote(target_schema)}")
            if mode == "DROP_AND_CREATE":
                cursor.execute(f"DROP TABLE IF EXISTS {quote(table)}")
            cursor.execute(definition.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))
            if mode == "TRUNCATE_BEFORE_LOAD":
                cursor.execute(f"TRUNCATE TABLE {quote(table)}")

    # -- change data capture ------------------------------------------------------------------

    def replicate(self, origin: Position) -> None:
        """Read the binlog ahead and apply it transaction by transaction, until stopped or broken."""
        capture = self.capture(origin)
        self.update(capturing=True, caught_up=False, read_started=None)
        last_read = -math.inf
        while True:
            self.check()
            if not self.state.pending or time.monotonic() - last_read >= CAPTURE_SECONDS:
                started = time.time()
                transactions = capture.read()
                last_read = time.monotonic()
                with self.extension.lock:
                    self.state.pending.extend(transactions)
                    self.state.newest_read, self.state.caught_up = capture.newest, True
                    self.state.read_started = started
            if self.state.pending:
                self.apply(self.state.pending[0])
            else:
                self.update(checkpoint=capture.position)
                self.state.stopping.wait(CAPTURE_SECONDS)

    def apply(self, transaction: Transaction) -> None:
        """Apply one source transaction in one target transaction, an event at a time, then checkpoint it."""
        counts: list[tuple[Change, int]] = []
        try:
            with self.target.cursor() as cursor:
                for change in transaction.changes:
                    if self.state.stopping.wait(self.extension.apply_delay):
                        raise Stopped()
                    self.apply_change(cursor, change)
                    counts.append((change, len(change.rows)))
            self.target.commit()
        except BaseException:
            with contextlib.suppress(pymysql.err.MySQLError):  # a broken target has nothing to roll back
                self.target.rollback()
            raise
        now = time.time()
        with self.extension.lock:
            self.state.pending.popleft()
            self.state.checkpoint = transaction.end
            self.state.applied_events += len(counts)
            for change, rows in counts:
                progress = self.state.tables.setdefault((change.schema, change.table),
                                                        TableProgress(change.schema, change.table, "Table completed"))
                setattr(progress, f"{change.kind}s", getattr(progress, f"{change.kind}s") + rows)
                progress.last_update = now

    def apply_change(self, cursor: Any, change: Change) -> None:
        """Apply one rows event; a table missing on the target is created from the source's definition."""
        try:
            self.write_rows(cursor, change)
        except pymysql.err.ProgrammingError as error:
            if error.args[0] != 1146:  # ER_NO_SUCH_TABLE
                raise
            self.prepare_table(change.schema, change.table, "DO_NOTHING")
            self.write_rows(cursor, change)

    def write_rows(self, cursor: Any, change: Change) -> None:
        table = f"{quote(self.target_schema(change.schema))}.{quote(change.table)}"
        for before, after in change.rows:
            if before is not None and (after is None or key_of(change, before) != key_of(change, after)):
                match = key_of(change, before)
                cursor.execute(f"DELETE FROM {table} WHERE " + " AND ".join(f"{quote(c)} <=> %s" for c in match)
                               + " LIMIT 1", list(match.values()))
            if after is not None:
                cursor.execute(f"REPLACE INTO {table} ({', '.join(quote(c) for c in after)}) "
                               f"VALUES ({', '.join(['%s'] * len(after))})", list(after.values()))


def key_of(change: Change, row: dict[str, Any]) -> dict[str, Any]:
    """The columns that identify ``row``: its primary key, else every column."""
    return {c: row[c] for c in change.key} if change.key else row


@dataclass
class Connection:
    """The outcome of a TestConnection between a replication instance and an endpoint."""

    instance_arn: str
    instance_identifier: str
    endpoint_arn: str
    endpoint_identifier: str
    status: str
    failure: str

    def describe(self, status: str | None = None) -> dict[str, Any]:
        return {"ReplicationInstanceArn": self.instance_arn, "EndpointArn": self.endpoint_arn,
                "Status": status or self.status, "LastFailureMessage": self.failure,
                "EndpointIdentifier": self.endpoint_identifier, "ReplicationInstanceIdentifier": self.instance_identifier}


class DmsExtension(Extension):
    """The DMS calls that need the engine; each task's runs, connections tested, and the apply delay."""

    service = "dms"

    def __init__(self, databases: DatabaseRegistry, time_scale: float):
        self.databases = databases
        self.time_scale = time_scale
        self.apply_delay = 0.0
        self.tasks: dict[str, TaskState] = {}
        self.connections: dict[tuple[str, str], Connection] = {}
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self.threads: list[threading.Thread] = []
        self.operations: dict[str, Callable[[AwsRequest, Forward, dict[str, Any]], Response]] = {
            "CreateReplicationTask": self.create_replication_task,
            "DescribeReplicationTasks": self.describe_replication_tasks,
            "StartReplicationTask": self.start_replication_task,
            "StopReplicationTask": self.stop_replication_task,
            "DeleteReplicationTask": self.delete_replication_task,
            "DescribeTableStatistics": self.describe_table_statistics,
            "TestConnection": self.test_connection,
            "DescribeConnections": self.describe_connections,
            "DeleteEndpoint": self.delete_endpoint,
        }

    def install(self) -> None:
        """Start the thread that publishes the CDC latency of capturing tasks to CloudWatch."""
        publisher = threading.Thread(target=self.publish_loop, name="dms-metrics", daemon=True)
        publisher.start()
        self.threads.append(publisher)

    def route(self, request: AwsRequest) -> Handler | None:
        target = request.environ.get("HTTP_X_AMZ_TARGET", "")
        operation = self.operations.get(target[len(TARGET_PREFIX):]) if target.startswith(TARGET_PREFIX) else None
        if operation is None:
            return None

        def handle(request: AwsRequest, forward: Forward) -> Response:
            try:
                return operation(request, forward, json.loads(request.body or b"{}"))
            except ServiceError as error:
                return json11_error(error.code, error.message)

        return handle

    # -- tasks ----------------------------------------------------------------------------------

    def create_replication_task(self, request: AwsRequest, forward: Forward, params: dict[str, Any]) -> Response:
        """moto's task, named by ResourceIdentifier when given, with its CDC origin and creation delay."""
        origin = parse_origin(params.get("CdcStartPosition"), params.get("CdcStartTime"))
        Selection.parse(params.get("TableMappings"))
        backend = dms_backend(request.region)
        if any(t.id == params.get("ReplicationTaskIdentifier") for t in list(backend.replication_tasks.values())):
            raise ServiceError("ResourceAlreadyExistsFault", "The resource you are attempting to create already exists.")
        response = forward(request)
        if response.status_code != 200:
            return response
        task = backend.replication_tasks.pop(json.loads(response.get_data())["ReplicationTask"]["ReplicationTaskArn"])
        if params.get("ResourceIdentifier"):
            renamed = f"{task.arn.rsplit(':', 1)[0]}:{params['ResourceIdentifier']}"
            if task.arn in backend.tagger.tags:
                backend.tagger.tags[renamed] = backend.tagger.tags.pop(task.arn)
            task.arn = renamed
        backend.replication_tasks[task.arn] = task
        with self.lock:
            self.tasks[task.arn] = TaskState(task.arn, request.region, REPLICA_SERVER_ID + len(self.tasks) + 1,
                                             time.monotonic() + CREATE_SECONDS * self.time_scale, origin,
                                             params.get("CdcStartPosition"))
        return json_response({"ReplicationTask": self.describe(task)})

    def describe_replication_tasks(self, request: AwsRequest, forward: Forward, params: dict[str, Any]) -> Response:
        response = forward(request)
        if response.status_code != 200:
            return response
        tasks = dms_backend(request.region).replication_tasks
        described = [self.describe(tasks[t["ReplicationTaskArn"]]) if t["ReplicationTaskArn"] in tasks else t
                     for t in json.loads(response.get_data())["ReplicationTasks"]]
        if params.get("WithoutSettings"):
            for task in described:
                task.pop("ReplicationTaskSettings", None)
        return json_response({"ReplicationTasks": described})

    def start_replication_task(self, request: AwsRequest, forward: Forward, params: dict[str, Any]) -> Response:
        task, state = self.task(request.region, params.get("ReplicationTaskArn", ""))
        kind = params.get("StartReplicationTaskType", "")
        origin = parse_origin(params.get("CdcStartPosition"), params.get("CdcStartTime"))
        with self.lock:
            check_startable(task, state, kind)
        plan = self.plan(request.region, task, kind, state, origin)
        with self.lock:
            now = time.time()
            state.phase, state.has_run, state.stop_reason, state.last_failure = "starting", True, None, None
            state.start_date, state.stop_date = now, None
            state.stopping = threading.Event()
            if kind != "resume-processing":
                state.fresh_start_date, state.checkpoint = now, None
            if origin is not None:
                state.checkpoint = None
                state.cdc_start_position = params.get("CdcStartPosition") or state.cdc_start_position
            run = threading.Thread(target=TaskRun(self, state, plan).run, name=f"dms-{task.id}", daemon=True)
            self.threads = [t for t in self.threads if t.is_alive()] + [run]
        run.start()
        return json_response({"ReplicationTask": self.describe(task)})

    def plan(self, region: str, task: Any, kind: str, state: TaskState, origin: Origin) -> Plan:
        """What this start of ``task`` will do, from its definition (in moto) and its start parameters."""
        try:
            settings = json.loads(task.replication_task_settings or "{}")
        except ValueError:
            raise ServiceError("InvalidParameterValueException", "Invalid ReplicationTaskSettings: not JSON.") from None
        return Plan(task.migration_type, kind, self.endpoint(region, task.source_endpoint_arn),
                    self.endpoint(region, task.target_endpoint_arn), Selection.parse(task.table_mappings),
                    (settings.get("FullLoadSettings") or {}).get("TargetTablePrepMode", "DROP_AND_CREATE"),
                    (settings.get("ErrorBehavior") or {}).get("FailOnNoTablesCaptured", True),
                    state.origin if origin is None else origin)

    def stop_replication_task(self, request: AwsRequest, forward: Forward, params: dict[str, Any]) -> Response:
        task, state = self.task(request.region, params.get("ReplicationTaskArn", ""))
        with self.lock:
            if state.status not in ("starting", "running"):
                raise ServiceError("InvalidResourceStateFault", "Replication task is not running")
            state.phase = "stopping"
            state.stopping.set()
        return json_response({"ReplicationTask": self.describe(task)})

    def delete_replication_task(self, request: AwsRequest, forward: Forward, params: dict[str, Any]) -> Response:
        task, state = self.task(request.region, params.get("ReplicationTaskArn", ""))
        if state.status in ACTIVE:
            raise ServiceError("InvalidResourceStateFault",
                               f"Replication task {task.id} is {state.status}; stop it before deleting it.")
        response = forward(request)
        if response.status_code == 200:
            with self.lock:
                self.tasks.pop(task.arn, None)
        return response

    def describe_table_statistics(self, request: AwsRequest, forward: Forward, params: dict[str, Any]) -> Response:
        _task, state = self.task(request.region, params.get("ReplicationTaskArn", ""))
        fields = {"schema-name": "SchemaName", "table-name": "TableName", "table-state": "TableState"}
        with self.lock:
            rows = [t.describe() for t in state.tables.values()]
        for condition in params.get("Filters", []):
            rows = [r for r in rows if r.get(fields.get(condition["Name"], "")) in condition["Values"]]
        return json_response({"ReplicationTaskArn": state.arn, "TableStatistics": rows})

    def task(self, region: str, arn: str) -> tuple[Any, TaskState]:
        task = dms_backend(region).replication_tasks.get(arn)
        state = self.tasks.get(arn)
        if task is None or state is None:
            raise ServiceError("ResourceNotFoundFault", "Replication task could not be found.")
        return task, state

    def describe(self, task: Any) -> dict[str, Any]:
        """moto's description of ``task`` with what its runs changed."""
        with self.lock:
            state = self.tasks.get(task.arn)
            return {**task.to_dict(), **(state.describe() if state else {})}

    # -- endpoints and connections ------------------------------------------------------------

    def endpoint(self, region: str, arn: str) -> Endpoint:
        found = next((e for e in list(dms_backend(region).endpoints.values()) if e.endpoint_arn == arn), None)
        if found is None:
            raise ServiceError("ResourceNotFoundFault", "Endpoint could not be found.")
        return Endpoint.of(found)

    def reach(self, endpoint: Endpoint) -> DatabaseServer:
        """The database server behind ``endpoint``; EndpointFailure when nothing answers at its address."""
        try:
            return self.databases.route(endpoint.server, endpoint.port)
        except Unreachable:
            raise EndpointFailure(2003, f"Can't connect to MySQL server on '{endpoint.server}' (110)") from None

    def test_connection(self, request: AwsRequest, forward: Forward, params: dict[str, Any]) -> Response:
        """Log in to the endpoint's database for real; the outcome shows in DescribeConnections."""
        instance = dms_backend(request.region).replication_instances.get(params.get("ReplicationInstanceArn", ""))
        if instance is None:
            raise ServiceError("ResourceNotFoundFault", "Replication instance could not be found.")
        endpoint = self.endpoint(request.region, params.get("EndpointArn", ""))
        try:
            self.connect(endpoint, database=endpoint.database).close()
            status, failure = "successful", ""
        except EndpointFailure as error:
            status, failure = "failed", ("Application-Status: 1020912, Application-Message: Cannot connect to ODBC "
                                         f"provider ODBC general error., Application-Detailed-Message: {error.odbc}")
        connection = Connection(instance.arn, instance.id, endpoint.arn, endpoint.identifier, status, failure)
        with self.lock:
            self.connections[(instance.arn, endpoint.arn)] = connection
        return json_response({"Connection": connection.describe("testing")})

    def describe_connections(self, request: AwsRequest, forward: Forward, params: dict[str, Any]) -> Response:
        wanted = {f["Name"]: f["Values"] for f in params.get("Filters", [])}
        with self.lock:
            rows = [c.describe() for c in self.connections.values()
                    if c.instance_arn.split(":")[3] == request.region
                    and c.endpoint_arn in wanted.get("endpoint-arn", [c.endpoint_arn])
                    and c.instance_arn in wanted.get("replication-instance-arn", [c.instance_arn])]
        return json_response({"Connections": rows})

    def delete_endpoint(self, request: AwsRequest, forward: Forward, params: dict[str, Any]) -> Response:
        """moto's delete, and the endpoint's tested connections with it."""
        response = forward(request)
        if response.status_code == 200:
            with self.lock:
                self.connections = {k: c for k, c in self.connections.items()
                                    if c.endpoint_arn != params.get("EndpointArn")}
        return response

    def connect(self, endpoint: Endpoint, database: str | None = None, autocommit: bool = True) -> pymysql.Connection:
        """A session with the database behind ``endpoint``, as its user; EndpointFailure when that fails."""
        if endpoint.engine not in MYSQL_ENGINES:
            raise EndpointFailure(0, f"The sandbox replicates MySQL-compatible endpoints only, not {endpoint.engine}.")
        server = self.reach(endpoint)
        try:
            return pymysql.connect(host=LOCAL_HOST, port=server.port, user=endpoint.username, database=database,
                                   password=endpoint.password, autocommit=autocommit, connect_timeout=5,
                                   charset="utf8mb4", init_command=SESSION)
        except pymysql.err.MySQLError as error:
            raise EndpointFailure(*error.args[:2]) from None

    # -- metrics and reports ------------------------------------------------------------------

    def publish_loop(self) -> None:
        while not self.closing.wait(PUBLISH_SECONDS):
            self.publish()

    def publish(self) -> None:
        """Put CDCLatencySource and CDCLatencyTarget of every capturing task into CloudWatch."""
        now = time.time()
        with self.lock:
            capturing = [(s, s.latencies(now)) for s in self.tasks.values() if s.capturing and s.phase == "running"]
        for state, (source, target) in capturing:
            task = dms_backend(state.region).replication_tasks.get(state.arn)
            instance = dms_backend(state.region).replication_instances.get(task.replication_instance_arn) if task else None
            if instance is None:
                continue
            dimensions = [{"Name": "ReplicationInstanceIdentifier", "Value": instance.id},
                          {"Name": "ReplicationTaskIdentifier", "Value": state.resource_id}]
            cloudwatch_backends[DEFAULT_ACCOUNT_ID][state.region].put_metric_data(METRIC_NAMESPACE, [
                {"MetricName": name, "Value": round(value, 3), "Unit": "Seconds", "Dimensions": dimensions}
                for name, value in (("CDCLatencySource", source), ("CDCLatencyTarget", target))])

    def status(self) -> dict[str, Any]:
        """Every task with its state, its databases, its lag and how far it has applied the source's binlog."""
        now = time.time()
        rows = []
        with self.lock:
            states = list(self.tasks.values())
        for state in states:
            task = dms_backend(state.region).replication_tasks.get(state.arn)
            if task is None:
                continue
            with self.lock:
                source, target = state.latencies(now)
                rows.append({
                    "identifier": task.id, "arn": state.arn, "status": state.status,
                    "migration_type": task.migration_type,
                    "source": self.database_name(state.region, task.source_endpoint_arn),
                    "target": self.database_name(state.region, task.target_endpoint_arn),
                    "cdc_latency_source": round(source, 3), "cdc_latency_target": round(target, 3),
                    "applied_events": state.applied_events, "pending_events": sum(len(t.changes) for t in state.pending),
                    "checkpoint": str(state.checkpoint) if state.checkpoint else None,
                })
        return {"dms_tasks": rows}

    def database_name(self, region: str, endpoint_arn: str) -> str | None:
        endpoint = next((e for e in list(dms_backend(region).endpoints.values()) if e.endpoint_arn == endpoint_arn), None)
        server = self.databases.find(endpoint.server_name or "", int(endpoint.port or 0)) if endpoint else None
        return server.spec.name if server else None

    def close(self) -> None:
        """Stop every running task (each rolls back what it had not committed) and the publisher."""
        self.closing.set()
        with self.lock:
            for state in self.tasks.values():
                state.stopping.set()
            threads = list(self.threads)
        for thread in threads:
            thread.join(timeout=5)


def check_startable(task: Any, state: TaskState, kind: str) -> None:
    """Refuse a start the way DMS does: not while creating or active, start-replication only the first time."""
    if kind not in ("start-replication", "resume-processing", "reload-target"):
        raise ServiceError("ValidationException", f"Invalid StartReplicationTaskType: {kind}")
    status = state.status
    if status == "creating" or status in ACTIVE:
        raise ServiceError("InvalidResourceStateFault", f"Replication task {task.id} is {status} and cannot be started.")
    if kind == "start-replication" and state.has_run:
        raise ServiceError("InvalidParameterCombinationException",
                           "Start Type : START_REPLICATION, valid only for tasks running for the first time")
    if kind == "resume-processing" and not state.has_run:
        raise ServiceError("InvalidParameterCombinationException",
                           "Start Type : RESUME_PROCESSING, valid only for previously executed tasks")
    if kind == "reload-target" and task.migration_type == "cdc":
        raise ServiceError("InvalidParameterCombinationException",
                           "Start Type : RELOAD_TARGET, valid only for tasks with a full load")


def dms_backend(region: str) -> Any:
    return dms_backends[DEFAULT_ACCOUNT_ID][region]


def drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
