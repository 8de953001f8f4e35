"""A real PostgreSQL (and a pgbouncer in front of it) started by the suite, never the machine's own.

``initdb`` refuses to run as root and the tests run as root in CI, so the server's programs run as
the ``postgres`` user (``runuser``) on a data directory chowned to it, in a temp dir of its own (pytest's
temp dirs are private to root). Each server listens on a free port on 127.0.0.1 with its socket in that
dir. Under ``CI=true`` a missing binary fails the test instead of skipping it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from servers import free_port, in_ci, stop_process, wait_for_port

PASSWORD = "sq-test-secret"
"""The superuser's password (host connections use scram-sha-256, so a wrong one is refused)."""

SERVER_SETTINGS = (
    # Test servers only: nothing here must survive a power cut, and fsync on a shared CI disk is slow.
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=300",
    "shared_buffers=64MB",
)


def find_pg_binary(name: str) -> str:
    """``name`` from PATH or Debian's versioned directories; skips locally, fails in CI, when missing."""
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        message = f"{name} not found: install the Debian package postgresql (.ci/run does)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return found


def find_pgbouncer() -> str:
    """The pgbouncer binary; skips locally, fails in CI, when missing."""
    found = (
        shutil.which("pgbouncer") or (os.path.exists("/usr/sbin/pgbouncer") and "/usr/sbin/pgbouncer") or None
    )
    if not found:
        message = "pgbouncer not found: install the Debian package pgbouncer (.ci/run does)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return str(found)


def _as_postgres(command: list[str]) -> list[str]:
    """Run ``command`` as the postgres user when we are root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return command
    # setpriv execs the command itself (no parent left in between), so a signal we send reaches it.
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *command]


def _owner() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


class PostgresServer:
    """A PostgreSQL cluster of our own: ``start``, ``restart_immediately`` (a crash), ``stop``."""

    def __init__(self, durable: bool = False) -> None:
        self.durable = durable
        self.pg_ctl = find_pg_binary("pg_ctl")
        self.initdb = find_pg_binary("initdb")
        self.root = Path(tempfile.mkdtemp(prefix="sq-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        owner = _owner()
        if owner is not None:
            os.chown(self.root, *owner)
        os.chmod(self.root, 0o755)
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD)
        if owner is not None:
            os.chown(pwfile, *owner)
        subprocess.run(
            _as_postgres(
                [
                    self.initdb,
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--pwfile",
                    str(pwfile),
                    "--auth-host=scram-sha-256",
                    "--auth-local=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def url(self, database: str = "postgres", password: str = PASSWORD, user: str = "postgres") -> str:
        """A URL of ``database`` on this server (over TCP, with the password)."""
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def _options(self) -> str:
        chosen = [s for s in SERVER_SETTINGS if not (self.durable and s.startswith("synchronous_commit"))]
        settings = " ".join(f"-c {setting}" for setting in chosen)
        where = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root}"
        return f"{where} {settings}"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        subprocess.run(
            _as_postgres(
                [
                    self.pg_ctl,
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.root / "log"),
                    "-o",
                    self._options(),
                    "-w",
                    "start",
                ]
            ),
            check=True,
            cwd=self.root,
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def restart_immediately(self) -> None:
        """``pg_ctl restart -m immediate``: every backend dies at once, as in a crash; then recovery."""
        subprocess.run(
            _as_postgres(
                [
                    self.pg_ctl,
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.root / "log"),
                    "-o",
                    self._options(),
                    "-m",
                    "immediate",
                    "-w",
                    "restart",
                ]
            ),
            check=True,
            cwd=self.root,
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def psql(self, sql: str, database: str = "postgres") -> None:
        """Run administrative SQL (CREATE DATABASE and the like) in autocommit mode."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(sql)

    def halt(self) -> None:
        """Stop the server (fast shutdown), keeping its files, for a test that starts it again."""
        subprocess.run(
            _as_postgres([self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop"]),
            check=True,
            cwd=self.root,
            stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        """Stop the server and delete its files."""
        subprocess.run(
            _as_postgres([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
            check=False,
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(self.root, ignore_errors=True)


class Databases:
    """Fresh databases on one server: each a copy of a template that has the store's schema already
    (``CREATE DATABASE ... TEMPLATE`` copies files, far faster than migrating each time)."""

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.count = 0
        server.psql("CREATE DATABASE sq_template")
        from sidequest.stores import open_store

        open_store(server.url("sq_template")).close()

    def drop(self, url: str) -> None:
        """Drop a database made by :meth:`fresh`, closing any connection a test left open."""
        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        self.server.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def fresh(self) -> str:
        """The URL of a new database holding the migrated, empty schema."""
        self.count += 1
        name = f"sq_test_{self.count}"
        self.server.psql(f"CREATE DATABASE {name} TEMPLATE sq_template")
        return self.server.url(name)


class PgBouncer:
    """A pgbouncer in transaction pooling mode in front of ``server``."""

    def __init__(self, server: PostgresServer, database: str) -> None:
        self.binary = find_pgbouncer()
        self.server = server
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="sq-bouncer-"))
        owner = _owner()
        (self.root / "users.txt").write_text(f'"postgres" "{PASSWORD}"\n')
        (self.root / "pgbouncer.ini").write_text(
            "\n".join(
                [
                    "[databases]",
                    f"{database} = host=127.0.0.1 port={server.port} dbname={database}",
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {self.port}",
                    f"unix_socket_dir = {self.root}",
                    "auth_type = plain",
                    f"auth_file = {self.root / 'users.txt'}",
                    "pool_mode = transaction",
                    "max_client_conn = 500",
                    "default_pool_size = 20",
                    f"logfile = {self.root / 'pgbouncer.log'}",
                    f"pidfile = {self.root / 'pgbouncer.pid'}",
                    "",
                ]
            )
        )
        if owner is not None:
            for path in [self.root, *self.root.iterdir()]:
                os.chown(path, *owner)
        self.database = database
        self.process: subprocess.Popen[bytes] | None = None

    def url(self) -> str:
        """The URL of the database through pgbouncer."""
        return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/{self.database}"

    def start(self) -> None:
        """Start pgbouncer in the foreground (as a child we can stop)."""
        self.process = subprocess.Popen(
            _as_postgres([self.binary, str(self.root / "pgbouncer.ini")]),
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        time.sleep(0.1)

    def stop(self) -> None:
        """Stop pgbouncer and delete its files."""
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)
