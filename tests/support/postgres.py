"""A throwaway PostgreSQL server for tests: `initdb` + `pg_ctl` on a free loopback port.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as an
unprivileged user (`nobody` by default, `TRADELOOP_TEST_PG_USER` to choose) through `runuser`.
Its directory is created under /tmp (not pytest's 0700 tmp dir, which that user could not
traverse) and removed on stop. `unavailable_reason()` says why the server cannot run here.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SEARCH_PATH = (
    "/usr/local/bin",
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
    "/usr/lib/postgresql/14/bin",
)
SUPERUSER = "tradeloop"


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for directory in SEARCH_PATH:
        candidate = Path(directory) / name
        if candidate.exists():
            return str(candidate)
    return None


def _run_as() -> str | None:
    """The user to run PostgreSQL as: None when we are not root (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    return os.environ.get("TRADELOOP_TEST_PG_USER", "nobody")


def unavailable_reason() -> str | None:
    """Why a PostgreSQL server cannot be started here, or None when it can."""
    for name in ("initdb", "pg_ctl"):
        if _binary(name) is None:
            return f"PostgreSQL binary '{name}' not found (install postgresql to run these tests)"
    user = _run_as()
    if user is not None:
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"running as root and user '{user}' does not exist to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root and `runuser` is missing to start PostgreSQL unprivileged"
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "psycopg2 is not installed"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    root: Path
    port: int
    user: str | None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _command(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.user, "--", *args] if self.user else list(args)

    def start(self) -> None:
        self.data_dir.mkdir()
        if self.user:
            entry = pwd.getpwnam(self.user)
            for path in (self.root, self.data_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
        assert initdb and pg_ctl
        subprocess.run(
            self._command(
                initdb,
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ),
            check=True,
            capture_output=True,
            text=True,
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        result = subprocess.run(
            self._command(
                pg_ctl,
                "-D",
                str(self.data_dir),
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-o",
                options,
                "start",
            ),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pg_ctl start failed: {result.stderr}\n{log}")

    def stop(self) -> None:
        pg_ctl = _binary("pg_ctl")
        if pg_ctl and (self.data_dir / "postmaster.pid").exists():
            subprocess.run(
                self._command(pg_ctl, "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"),
                capture_output=True,
                text=True,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self) -> str:
        """A fresh, empty namespace; returns a URL whose connections only see it.

        A schema per test (set as the search path) rather than a database per test: CREATE
        DATABASE copies a template and takes a second or more, CREATE SCHEMA takes milliseconds.
        """
        import psycopg2

        name = f"t_{uuid.uuid4().hex[:12]}"
        connection = psycopg2.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres"
        )
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{name}"')
        finally:
            connection.close()
        return f"{self.url()}?options=-csearch_path%3D{name}"


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a server for the duration of the block (skip first if `unavailable_reason()`)."""
    root = Path(tempfile.mkdtemp(prefix="tradeloop-pg-", dir="/tmp"))
    root.chmod(0o755)
    server = PostgresServer(root=root, port=_free_port(), user=_run_as())
    try:
        server.start()
        yield server
    finally:
        server.stop()
