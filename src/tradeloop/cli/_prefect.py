"""The Prefect API a command's flow runs talk to: the user's server, or one of our own.

With ``PREFECT_API_URL`` set (a `prefect server start` the user runs, Prefect Cloud, the test
harness), flows run against it, after a health check that names it when it does not answer.
Without it, the command starts a temporary server as its own child process
(`tradeloop.cli._prefect_server`) and stops it when the flows are done. That server:

* dies with the command, even a SIGKILLed one: nothing is left running;
* keeps its output in ``<PREFECT_HOME>/server.log``, not in the user's terminal;
* starts under a lock in ``PREFECT_HOME``, so commands started together do not race to create
  Prefect's database; each then has its own server on the shared SQLite file.

A run's failure is reported once, by the command (a user's mistake as a message, a bug with its
traceback): the terminal does not also get Prefect's copy of it. The run's warnings still show,
and the Prefect UI keeps every record of the run.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx

from tradeloop.errors import PrefectUnavailableError

_HEALTH_TIMEOUT = 5.0
_STOP_TIMEOUT = 10.0


def _prefect_home() -> Path:
    return Path(os.environ["PREFECT_HOME"]).expanduser()


def _startup_timeout() -> float:
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    return float(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())


def _healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=_HEALTH_TIMEOUT).status_code == 200
    except httpx.HTTPError:
        return False


class TemporaryServer:
    """One Prefect API server, a child of this process; `stop` or this process's exit ends it."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.api_url = f"http://127.0.0.1:{port}/api"
        self.log = log

    @classmethod
    def start(cls) -> TemporaryServer:
        home = _prefect_home()
        home.mkdir(parents=True, exist_ok=True)
        log = home / "server.log"
        timeout = _startup_timeout()
        with open(home / ".server-start.lock", "w") as lock, open(log, "ab") as output:
            # Migrations run on a server's first start: one server starts at a time.
            fcntl.flock(lock, fcntl.LOCK_EX)
            env = {
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
            }
            process = subprocess.Popen(
                [sys.executable, "-m", "tradeloop.cli._prefect_server", str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=output,
                env=env,
            )
            server = cls(process, _read_port(process, log, timeout), log)
            atexit.register(server.stop)
            server._wait_until_healthy(timeout)
        return server

    def _wait_until_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise _failed(f"exited with code {self.process.returncode}", self.log)
            if _healthy(self.api_url):
                return
            time.sleep(0.2)
        self.stop()
        raise _failed(f"did not answer within {_allowed(timeout)}", self.log)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        assert self.process.stdin is not None
        with contextlib.suppress(OSError):
            self.process.stdin.close()  # the server's cue to shut down
        try:
            self.process.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _failed(what: str, log: Path) -> PrefectUnavailableError:
    return PrefectUnavailableError(
        f"the temporary Prefect server {what}; its log is {log}. Run "
        "`prefect server start` yourself and set PREFECT_API_URL=http://127.0.0.1:4200/api to "
        "use it, or try again"
    )


def _read_port(process: subprocess.Popen[bytes], log: Path, timeout: float) -> int:
    stdout: IO[bytes] | None = process.stdout
    assert stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            process.kill()
            raise _failed(f"did not start within {_allowed(timeout)}", log)
        line = stdout.readline().decode().split()
        if len(line) == 2 and line[0] == "port":
            return int(line[1])
    process.kill()
    raise _failed("did not start", log)


def _allowed(timeout: float) -> str:
    """The startup time allowed, and how to allow more (a loaded machine can need it)."""
    return (
        f"{timeout:g} s (on a busy machine allow it longer, e.g. "
        f"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS={max(60, round(timeout * 3))})"
    )


def _drain_prefect_workers() -> None:
    """Send the runs' queued logs and events before the server they go to stops."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(RuntimeError):
            worker.drain_all(timeout=_STOP_TIMEOUT, at_exit=False)


class _NotRunFailures(logging.Filter):
    """Drop the flow and task runs' own failure records (with their tracebacks) from the
    terminal; the command reports the failure itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        from_a_run = record.name.startswith(("prefect.flow_runs", "prefect.task_runs"))
        return not (from_a_run and record.levelno >= logging.ERROR)


def _quiet_run_failures_in_terminal() -> None:
    import prefect.main  # noqa: F401  (configures Prefect's logging, console handler included)
    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler) and not any(
            isinstance(f, _NotRunFailures) for f in handler.filters
        ):
            handler.addFilter(_NotRunFailures())


@contextlib.contextmanager
def prefect_api() -> Iterator[str]:
    """Run the block's flows against the configured Prefect API, or a temporary one of ours.

    Yields the API URL. Raises `PrefectUnavailableError` when a configured API does not answer
    or a temporary server cannot start.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    _quiet_run_failures_in_terminal()
    configured = PREFECT_API_URL.value()
    if configured:
        if not _healthy(configured):
            raise PrefectUnavailableError(
                f"the Prefect API at {configured} (PREFECT_API_URL) does not answer: start it "
                "with `prefect server start`, or unset PREFECT_API_URL to let tradeloop run a "
                "temporary server for this command"
            )
        yield configured
        return
    server = TemporaryServer.start()
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            try:
                yield server.api_url
            finally:
                _drain_prefect_workers()
    finally:
        server.stop()
