"""The temporary Prefect API server of one `tradeloop` command, run as its child process.

Started by `tradeloop.cli._prefect.prefect_api` as ``python -m tradeloop.cli._prefect_server``.
It binds a free loopback port itself (no race with another process choosing the same one),
writes ``port <n>`` on stdout, then serves Prefect's API with uvicorn.

It dies with its parent: the parent holds the write end of this process's stdin, so when the
parent exits for any reason, SIGKILL included, the read below returns end-of-file and the server
stops (SIGTERM to itself, uvicorn's graceful shutdown, then a hard exit if that hangs). On Linux
a parent-death signal is set as well.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import sys
import threading

_GRACE_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the signal was set
        os._exit(0)

    def watch_stdin() -> None:
        while sys.stdin.buffer.read(4096):
            pass
        os.kill(os.getpid(), signal.SIGTERM)
        threading.Timer(_GRACE_SECONDS, os._exit, args=(0,)).start()

    threading.Thread(target=watch_stdin, name="parent-watch", daemon=True).start()


def main() -> None:
    _die_with_parent(int(sys.argv[1]))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sys.stdout.write(f"port {sock.getsockname()[1]}\n")
    sys.stdout.flush()

    import uvicorn

    config = uvicorn.Config(
        "prefect.server.api.server:create_app",
        factory=True,
        log_level="error",
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
