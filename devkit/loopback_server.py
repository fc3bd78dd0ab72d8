"""Runs ASGI apps under a real uvicorn on 127.0.0.1 for tests: in a thread, or `tinktalker serve` as
a process."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_ready(
    url: str, timeout_s: float = 60.0, process: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"the server exited with {process.returncode}: {process.stderr.read()}"
            )
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready within {timeout_s} s")


@contextmanager
def serving_in_thread(app) -> Iterator[str]:
    """A real uvicorn on a free loopback port, in a thread of this process; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        raise RuntimeError("uvicorn did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def serve_process(
    model_dir: Path,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    open_files: tuple[int, int] | None = None,
    ready_timeout_s: float = 60.0,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`tinktalker serve` as its own process on a free loopback port; stopped with SIGTERM
    afterwards. `open_files` starts it under that (soft, hard) RLIMIT_NOFILE, as `ulimit -n`
    would."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "tinktalker.entrypoints.cli",
        "serve",
        "--model",
        str(model_dir),
        "--port",
        str(port),
        *args,
    ]
    limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, open_files)) if open_files else None
    process = subprocess.Popen(
        command,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        preexec_fn=limit,
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/ready", ready_timeout_s, process=process)
        yield f"http://127.0.0.1:{port}", process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
