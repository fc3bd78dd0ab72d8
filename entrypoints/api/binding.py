"""What `serve` says on start: where it listens, and, when it cannot, why (in use, permission, no
such address)."""

from __future__ import annotations

import asyncio
import errno
import socket
import sys
from collections.abc import Sequence
from typing import TextIO

from tinktalker.domain.errors import SetupError

DOCS_PATH = "/schema"


def listening_line(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"listening on http://{shown}:{port} (docs: {DOCS_PATH})"


async def announce_when_listening(
    server, host: str, about: Sequence[str] = (), out: TextIO | None = None
) -> None:
    """Print `about` and the listening line as one block once uvicorn serves (on the bound port)."""
    while not server.started:
        await asyncio.sleep(0.05)
    sockets = [s for listener in getattr(server, "servers", []) for s in listener.sockets]
    port = sockets[0].getsockname()[1] if sockets else server.config.port
    print(*about, listening_line(host, port), sep="\n", file=out or sys.stderr, flush=True)


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, listening before anything slow happens (a busy port fails at once)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as error:
        raise SetupError(describe_bind_error(host, port, error)) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        sock.bind(address)
        sock.listen(2048)
    except OSError as error:
        sock.close()
        raise SetupError(describe_bind_error(host, port, error)) from None
    sock.set_inheritable(True)
    return sock


def bind_problem(host: str, port: int) -> str:
    """Why binding `host:port` fails, found by trying it again the way uvicorn does."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        return describe_bind_error(host, port, error)
    return (
        f"cannot listen on {host}:{port} (see the line above); "
        "pick another port with --port (server.port)"
    )


def describe_bind_error(host: str, port: int, error: OSError) -> str:
    where = f"cannot listen on {host}:{port}"
    if isinstance(error, socket.gaierror):
        return (
            f"{where}: no such host name '{host}'; "
            "pass --host 127.0.0.1, 0.0.0.0 or an address of this machine"
        )
    if error.errno == errno.EADDRINUSE:
        return (
            f"{where}: the port is in use by another program; "
            "stop it or pick another port with --port (server.port)"
        )
    if error.errno in (errno.EACCES, errno.EPERM):
        return (
            f"{where}: permission denied (ports below 1024 need root); "
            "pick a port from 1024 up with "
            "--port (server.port), e.g. --port 8000"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return (
            f"{where}: this machine has no address {host}; "
            "pass --host 127.0.0.1, 0.0.0.0 or one of its "
            "own addresses (server.host)"
        )
    return (
        f"{where}: {error.strerror or error}; "
        "pick another with --host/--port (server.host/server.port)"
    )
