"""`tinktalker serve` as a real process: its start block, one access line per request (never the key
or the body), and a busy port found before the model loads."""

from __future__ import annotations

import re
import socket

import httpx

from devkit.loopback_server import serve_process
from tests.test_cli_chat import run_cli
from tinktalker.entrypoints.random_weights import MARKER
from tinktalker.entrypoints.settings import BatchingSettings

KEY = "sk-test-key-never-logged"
SECRET_TEXT = "тайное-слово-из-тела"
ACCESS = re.compile(
    r" INFO tinktalker\.access: (\S+) (\S+) (\d{3}) (\d+) ms(?: (\d+)\+(\d+) tokens)?$"
)


def test_serve_says_what_it_runs_in_one_block_then_where_it_listens(tiny_model_dir):
    (tiny_model_dir / MARKER).write_text("random\n")
    try:
        with serve_process(tiny_model_dir, env={"TINKTALKER_API_KEY": KEY}) as (url, process):
            pass
    finally:
        (tiny_model_dir / MARKER).unlink()
    lines = [line for line in process.stderr.read().splitlines() if "tinktalker.access" not in line]
    start = next(i for i, line in enumerate(lines) if line.startswith("model:"))
    block = lines[start : start + 5]
    assert block[0].startswith(f"model:    {tiny_model_dir} (random weights, untrained")
    assert re.fullmatch(
        r"engine:   (torch|ctranslate2|continuous batching) on cpu, .+ threads.*", block[1]
    ), block
    assert block[2].startswith(
        f"batching: up to {BatchingSettings().max_batch_size} replies per model call"
    )
    assert block[3] == "API key:  required (TINKTALKER_API_KEY)"
    assert block[4] == f"listening on {url} (docs: /schema)"


def test_one_access_line_per_request_with_tokens_and_never_the_key_or_body(tiny_model_dir):
    body = {"model": "tinktalker", "messages": [{"role": "user", "content": SECRET_TEXT}]}
    auth = {"Authorization": f"Bearer {KEY}"}
    with serve_process(tiny_model_dir, env={"TINKTALKER_API_KEY": KEY}) as (url, process):
        with httpx.Client(base_url=url, timeout=60) as client:
            client.get("/ready")  # the line the readiness wait ended on may still be in flight
            mark = "/marker-before-the-requests"
            assert client.get(mark).status_code == 404
            assert client.post("/v1/chat/completions", json=body, headers=auth).status_code == 200
            assert client.post("/v1/chat/completions", json=body).status_code == 401
            r = client.post("/v1/chat/completions", json={**body, "n": 99}, headers=auth)
            assert r.status_code == 400
            assert client.get("/health").status_code == 200
    stderr = process.stderr.read()
    assert KEY not in stderr and SECRET_TEXT not in stderr
    lines = stderr.splitlines()
    first = next(i for i, line in enumerate(lines) if mark in line)
    seen = [ACCESS.search(line) for line in lines[first:] if "tinktalker.access" in line]
    assert all(seen), lines[first:]
    summary = [(m[1], m[2], m[3]) for m in seen if m is not None]
    assert summary == [
        ("GET", mark, "404"),
        ("POST", "/v1/chat/completions", "200"),
        ("POST", "/v1/chat/completions", "401"),
        ("POST", "/v1/chat/completions", "400"),
        ("GET", "/health", "200"),
    ]
    generated = seen[1]
    assert generated is not None and int(generated[5]) >= 1 and generated[6] is not None
    assert all(m is not None and m[5] is None for m in seen[2:])  # refused: no tokens spent


def test_a_busy_port_is_one_line_before_any_model_is_looked_at(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--model", str(tmp_path / "no-such-model"), "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"tinktalker: error: cannot listen on 127.0.0.1:{port}: the port is in use by another "
        "program; stop it or pick another port with --port (server.port)"
    ]


def test_models_says_when_the_model_folder_was_written(tiny_model_dir):
    written = int((tiny_model_dir / "config.json").stat().st_mtime)
    with serve_process(tiny_model_dir) as (url, _):
        card = httpx.get(f"{url}/v1/models").json()["data"][0]
        home = httpx.get(f"{url}/", follow_redirects=False)
    assert card["created"] == written > 0
    assert (home.status_code, home.headers["location"]) == (302, "/schema")
