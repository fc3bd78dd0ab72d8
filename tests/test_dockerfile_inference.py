"""Dockerfile.inference without Docker: what it copies exists, and its CMD and HEALTHCHECK work on
this machine."""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from devkit.loopback_server import free_port, wait_until_ready

ROOT = Path(__file__).resolve().parents[1]


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile.inference").read_text(encoding="utf-8"))
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    return [tuple(line.split(None, 1)) for line in lines]


def build_args() -> dict[str, str]:
    return dict(arg.split("=", 1) for kind, arg in instructions() if kind == "ARG" and "=" in arg)


def image_env() -> dict[str, str]:
    pairs = [p for kind, rest in instructions() if kind == "ENV" for p in rest.split()]
    return dict(pair.split("=", 1) for pair in pairs)


def json_command(kind: str) -> list[str]:
    rest = next(rest for k, rest in instructions() if k == kind)
    return json.loads(rest[rest.index("CMD") + 3 :] if kind == "HEALTHCHECK" else rest)


def test_everything_it_copies_is_in_the_repository():
    args = build_args()
    copies = [rest.split()[:-1] for kind, rest in instructions() if kind == "COPY"]
    sources = [
        re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], s) for sources in copies for s in sources
    ]
    assert "docker/no-model" in sources and "entrypoints" in sources
    assert [s for s in sources if not (ROOT / s).exists()] == []


def test_its_cmd_serves_and_its_healthcheck_passes_outside_docker(tiny_model_dir):
    port = str(free_port())
    env = {
        **os.environ,
        **image_env(),
        "TINKTALKER_CONFIG": str(ROOT / "config.yml"),
        "TINKTALKER_MODEL": str(tiny_model_dir),
    }
    local = {
        "tinktalker": str(Path(sys.executable).parent / "tinktalker"),
        "0.0.0.0": "127.0.0.1",
        "8000": port,
    }
    command = [local.get(part, part) for part in json_command("CMD")]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/health", process=server)
        probe = [
            sys.executable if p == "python" else p.replace("8000", port)
            for p in json_command("HEALTHCHECK")
        ]
        assert subprocess.run(probe, timeout=10).returncode == 0
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(20)
