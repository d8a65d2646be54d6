"""``crowdperf hub serve``: the web app under uvicorn, on loopback unless told otherwise.

With ``workers > 1`` the parent binds the socket once and forks that many worker processes, each
with its own store connection and response cache, all accepting on the same socket: one Python
process uses one core, and answering a crowd is CPU-bound. Each worker builds its ``WebConfig``
after the fork (``make_config``): database connections must never cross a fork.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from crowdperf.errors import HubError
from crowdperf.hub.web.app import WebConfig, create_app


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8765
    log_level: str = "info"  # "warning" and above: no access log line per request
    workers: int = 1


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _uvicorn_config(config: WebConfig, options: ServeOptions) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(config), host=options.host, port=options.port, log_level=options.log_level,
        proxy_headers=False, server_header=False,
    )  # fmt: skip


def listen(options: ServeOptions) -> socket.socket:
    """The listening socket, bound before anything is printed or started: a port in use (another
    hub, say) is a one-line HubError, not a banner followed by uvicorn's traceback."""
    family = socket.AF_INET6 if ":" in options.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT only, never a listener
        sock.bind((options.host, options.port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        in_use = exc.errno == errno.EADDRINUSE
        raise HubError(
            f"cannot listen on {options.host}:{options.port}: "
            + ("the port is in use (another hub or server)" if in_use else str(exc.strerror or exc)),
            hint="pass another --port, or stop what listens there" if in_use else "check --host and --port",
        ) from exc
    return sock


def serve(make_config: Callable[[], WebConfig], options: ServeOptions, sock: socket.socket) -> None:
    """Run on ``sock`` (from ``listen``) until interrupted."""
    if options.workers <= 1:
        uvicorn.Server(_uvicorn_config(make_config(), options)).run(sockets=[sock])
        return
    children = [_fork_worker(make_config, options, sock) for _ in range(options.workers)]
    _wait_for(children)


def _fork_worker(make_config: Callable[[], WebConfig], options: ServeOptions, sock: socket.socket) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:  # the child: uvicorn installs its own SIGINT/SIGTERM handlers and shuts down gracefully
        uvicorn.Server(_uvicorn_config(make_config(), options)).run(sockets=[sock])
    except BaseException:
        code = 1
        raise
    finally:
        os._exit(code)  # never return into the parent's code
    return 0  # pragma: no cover - unreachable


def _wait_for(children: list[int]) -> None:
    """Wait for the workers; SIGINT or SIGTERM to the parent stops them all."""

    def stop(_signum: int, _frame: object) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
