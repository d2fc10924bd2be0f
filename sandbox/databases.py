"""Real MariaDB servers for the inventory's databases: one ``mariadbd`` per database, a child of the server.

Seeding creates the AWS side of a database (an EC2 instance or an RDS instance, see ``sandbox.seed``)
and then asks the server to start it (``POST /_sandbox/databases``). Each database gets its own datadir
under ``<state dir>/databases/<name>/``, initialised once by ``mariadb-install-db``, and a ``mariadbd``
on a free port of 127.0.0.1 with the binary log on in ROW format (full row images and metadata), which
is what DMS change data capture needs. A fresh server gets a generated root password (kept beside the
datadir, never in a report) and loses its anonymous accounts; every start then creates the schema and
the application user of the inventory, with ALL on the schema and the replication grants DMS uses.

Starting a database that runs already (seeding again) only re-applies the schema, user and grants:
the server and its data stay. A server is stopped (SIGTERM, then SIGKILL) when the sandbox stops; it
is started through ``setpriv --pdeathsig KILL`` from a thread that lives as long as the registry, so
it dies with the sandbox process even when that process is killed outright.

What DMS and other AWS-side clients reach is the AWS-side address (host, port) seeding recorded: the
registry routes it to the local server, unless the database's site is failed (see ``sandbox.state``),
in which case the address does not answer, as a network path that is down.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pymysql

from sandbox.state import SiteRegistry, normalize_host

LOCAL_HOST = "127.0.0.1"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
UNIX_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes
# Binary log base names: RDS for MariaDB's, and Debian's default for a server of its own.
BINLOG_NAMES = {"rds": "mysql-bin-changelog", "ec2": "mariadb-bin"}
# What mariadbd needs, beyond the datadir and addresses, for DMS to capture changes from it.
SERVER_OPTIONS = ("--bind-address=127.0.0.1", "--binlog-format=ROW", "--binlog-row-image=FULL",
                  "--binlog-row-metadata=FULL", "--skip-name-resolve", "--innodb-buffer-pool-size=16M")

Launch = Callable[[list[str], Path], subprocess.Popen]


class DatabaseError(RuntimeError):
    """A database server could not be set up or started; the message says why."""


class Unreachable(ConnectionError):
    """Nothing answers at an AWS-side database address (unknown address, or its site is failed)."""

    def __init__(self, host: str, port: int):
        super().__init__(f"Nothing answers at {host}:{port}.")
        self.host = host
        self.port = port


@dataclass(frozen=True)
class DatabaseSpec:
    """One inventory database (``site_database``) and the AWS-side address seeding gave it."""

    name: str
    site: str
    kind: str
    engine: str
    schema: str
    username: str
    password: str
    aws_host: str
    aws_port: int

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DatabaseSpec:
        try:
            spec = cls(**{name: values[name] for name in cls.__dataclass_fields__})
        except KeyError as missing:
            raise DatabaseError(f"A database registration lacks '{missing.args[0]}'.") from None
        if spec.kind not in BINLOG_NAMES or spec.engine != "mariadb":
            raise DatabaseError(f"Database {spec.name}: kind must be ec2 or rds and engine mariadb, "
                                f"not {spec.kind}/{spec.engine}.")
        return spec


class DatabaseServer:
    """One ``mariadbd`` with its own datadir, serving one inventory database on 127.0.0.1."""

    def __init__(self, spec: DatabaseSpec, directory: Path, server_id: int):
        self.spec = spec
        self.directory = directory
        self.server_id = server_id
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self.lock = threading.Lock()

    @property
    def datadir(self) -> Path:
        return self.directory / "data"

    @property
    def tmpdir(self) -> Path:
        """The server's own temporary directory (servers bootstrapping side by side clash in a shared one)."""
        return self.directory / "tmp"

    @property
    def password_file(self) -> Path:
        """The root password; it exists once the datadir is initialised and root secured."""
        return self.directory / "root-password"

    @property
    def log_file(self) -> Path:
        return self.directory / "mariadb.log"

    @property
    def socket_path(self) -> Path:
        """The server's Unix socket: beside the datadir unless that path is too long for a socket."""
        path = self.directory / "mariadb.sock"
        if len(str(path)) <= UNIX_SOCKET_PATH_MAX:
            return path
        return Path(tempfile.gettempdir()) / f"eks-ha-{hashlib.sha1(str(path).encode()).hexdigest()[:12]}.sock"

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, spec: DatabaseSpec, launch: Launch) -> None:
        """Start the server unless it runs (first initialising its datadir), then provision ``spec``."""
        with self.lock:
            self.spec = spec
            if not self.running():
                fresh = not self.password_file.exists()
                if fresh:
                    self.initialize()
                self.port = free_port()
                self.process = launch(self.command(), self.log_file)
                self.wait_ready("" if fresh else self.root_password())
                if fresh:
                    self.secure_root()
            self.provision()

    def initialize(self) -> None:
        """A new datadir with the system tables (any half-made one from an interrupted start is dropped)."""
        shutil.rmtree(self.datadir, ignore_errors=True)
        self.datadir.mkdir(parents=True)
        self.tmpdir.mkdir(exist_ok=True)
        command = [program("mariadb-install-db"), "--no-defaults", "--auth-root-authentication-method=normal",
                   f"--datadir={self.datadir}", "--skip-test-db", *run_as_root()]
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "TMPDIR": str(self.tmpdir)})
        if done.returncode != 0:
            raise DatabaseError(f"mariadb-install-db failed for {self.spec.name}: {tail(done.stdout + done.stderr)}")

    def command(self) -> list[str]:
        return [program("setpriv"), "--pdeathsig", "KILL", program("mariadbd"), "--no-defaults",
                f"--datadir={self.datadir}", f"--socket={self.socket_path}", f"--pid-file={self.directory / 'mariadb.pid'}",
                f"--log-error={self.log_file}", f"--tmpdir={self.tmpdir}", f"--port={self.port}", f"--server-id={self.server_id}",
                f"--log-bin={BINLOG_NAMES[self.spec.kind]}", *SERVER_OPTIONS, *run_as_root()]

    def wait_ready(self, password: str) -> None:
        """Wait until root can log in over the socket; fail if the server exits or takes too long."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise DatabaseError(f"mariadbd for {self.spec.name} exited with {self.process.returncode}; see "
                                    f"{self.log_file}:\n{tail(read_text(self.log_file))}")
            try:
                self.admin(password).close()
                return
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise DatabaseError(f"mariadbd for {self.spec.name} did not answer within {START_TIMEOUT:.0f} s; "
                                        f"see {self.log_file}.") from None
                time.sleep(0.1)

    def secure_root(self) -> None:
        """Give root on loopback a generated password; drop the anonymous accounts and root by host name.

        Accounts by host name are ignored under ``--skip-name-resolve`` (so ALTER/DROP USER cannot reach
        them): they are removed from the grant table itself.
        """
        password = secrets.token_urlsafe(18)
        with self.admin("") as connection, connection.cursor() as cursor:
            for host in LOOPBACK_HOSTS:
                cursor.execute("ALTER USER IF EXISTS 'root'@%s IDENTIFIED BY %s", (host, password))
            cursor.execute("DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host NOT IN %s)",
                           (LOOPBACK_HOSTS,))
            cursor.execute("FLUSH PRIVILEGES")
        self.password_file.write_text(password)
        self.password_file.chmod(0o600)

    def provision(self) -> None:
        """The inventory's schema and user, with ALL on the schema and the grants DMS needs to capture changes."""
        spec = self.spec
        account = (spec.username, "%")
        try:
            with self.admin(self.root_password()) as connection, connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS {quote(spec.schema)}")
                cursor.execute("CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (*account, spec.password))
                cursor.execute("ALTER USER %s@%s IDENTIFIED BY %s", (*account, spec.password))
                cursor.execute(f"GRANT ALL PRIVILEGES ON {quote(spec.schema)}.* TO %s@%s", account)
                cursor.execute("GRANT REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.* TO %s@%s", account)
        except pymysql.err.MySQLError as error:
            raise DatabaseError(f"Could not provision database {spec.name}: {error}") from None

    def admin(self, password: str) -> pymysql.Connection:
        """A root connection over the server's Unix socket."""
        return pymysql.connect(unix_socket=str(self.socket_path), user="root", password=password,
                               autocommit=True, connect_timeout=2)

    def root_password(self) -> str:
        return self.password_file.read_text()

    def terminate(self) -> None:
        """Ask the server to shut down (it flushes and exits on SIGTERM)."""
        if self.running():
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """Shut the server down and wait for it; kill it if it will not go."""
        if self.process is None:
            return
        self.terminate()
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def describe(self) -> dict[str, Any]:
        spec = self.spec
        return {"name": spec.name, "site": spec.site, "kind": spec.kind, "aws_host": spec.aws_host,
                "aws_port": spec.aws_port, "local_host": LOCAL_HOST, "local_port": self.port,
                "schema": spec.schema, "username": spec.username}


class DatabaseRegistry:
    """The database servers of one sandbox, by name and by AWS-side address."""

    def __init__(self, state_dir: Path | None, sites: SiteRegistry):
        self.state_dir = state_dir
        self.sites = sites
        self._servers: dict[str, DatabaseServer] = {}
        self._lock = threading.Lock()
        # Servers are spawned from this one long-lived thread: their parent-death signal follows it.
        self._parent = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mariadb-parent")

    def start(self, specs: list[DatabaseSpec]) -> list[dict[str, Any]]:
        """Start (or reuse) a server per spec, all at once; return their descriptions."""
        servers = [self._server_for(spec) for spec in specs]
        with ThreadPoolExecutor(max_workers=max(len(servers), 1)) as pool:
            for future in [pool.submit(server.start, spec, self._launch) for server, spec in zip(servers, specs)]:
                future.result()
        return [server.describe() for server in servers]

    def _server_for(self, spec: DatabaseSpec) -> DatabaseServer:
        if self.state_dir is None:
            raise DatabaseError("This sandbox has no state dir to keep database files in.")
        with self._lock:
            server = self._servers.get(spec.name)
            if server is None:
                server = DatabaseServer(spec, self.state_dir / "databases" / spec.name, len(self._servers) + 1)
                self._servers[spec.name] = server
            return server

    def _launch(self, command: list[str], log_file: Path) -> subprocess.Popen:
        return self._parent.submit(spawn, command, log_file).result()

    def find(self, host: str, port: int) -> DatabaseServer | None:
        """The server whose AWS-side address is ``host``:``port``, whatever the state of its site."""
        with self._lock:
            return next((s for s in self._servers.values()
                         if normalize_host(s.spec.aws_host) == normalize_host(host) and s.spec.aws_port == port), None)

    def route(self, host: str, port: int) -> DatabaseServer:
        """The running server an AWS-side client reaches at ``host``:``port``; raises Unreachable otherwise."""
        server = self.find(host, port)
        site = next((s for s in self.sites.all() if server and s.name == server.spec.site), None)
        if server is None or not server.running() or (site is not None and site.failed):
            raise Unreachable(host, port)
        return server

    def get(self, name: str) -> DatabaseServer | None:
        with self._lock:
            return self._servers.get(name)

    def status(self) -> list[dict[str, Any]]:
        with self._lock:
            return [server.describe() for server in self._servers.values()]

    def close(self) -> None:
        """Stop every server (all asked at once, then waited for) and the spawning thread."""
        with self._lock:
            servers = list(self._servers.values())
        for server in servers:
            server.terminate()
        for server in servers:
            server.stop()
        self._parent.shutdown()


def spawn(command: list[str], log_file: Path) -> subprocess.Popen:
    """Start ``command`` with its output appended to ``log_file`` (mariadbd logs there itself too)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)


def program(name: str) -> str:
    """The path of ``name`` on PATH or in /usr/sbin (where Debian puts mariadbd)."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if not found:
        raise DatabaseError(f"{name} is not installed; run `make bootstrap` (it installs mariadb-server).")
    return found


def run_as_root() -> list[str]:
    """mariadbd refuses to run as root unless told to."""
    return ["--user=root"] if os.geteuid() == 0 else []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOCAL_HOST, 0))
        return probe.getsockname()[1]


def quote(identifier: str) -> str:
    """``identifier`` as a MariaDB quoted identifier."""
    return "`" + identifier.replace("`", "``") + "`"


def read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
