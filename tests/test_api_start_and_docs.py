"""`tinktalker serve` says where it listens or why it cannot; its docs page works offline with
examples that work."""

from __future__ import annotations

import errno
import os
import re
import socket
import subprocess
import sys

import httpx
import pytest

from devkit.loopback_server import serve_process
from tests.api_app_under_test import api_server
from tests.fakes import FakeReplyGenerator
from tests.test_cli_chat import ROOT, run_cli
from tinktalker.entrypoints.api.binding import describe_bind_error


def test_serve_prints_where_it_listens_at_the_default_log_level(tiny_model_dir):
    with serve_process(tiny_model_dir, env={"TINKTALKER__STORE__BACKEND": "memory"}) as (
        url,
        process,
    ):
        pass
    stderr = process.stderr.read()
    port = url.rsplit(":", 1)[1]
    assert f"listening on http://127.0.0.1:{port} (docs: /schema)" in stderr.splitlines()
    others = [line for line in stderr.splitlines() if " INFO tinktalker.access: " not in line]
    assert "INFO" not in "\n".join(others)  # the default level stays WARNING, but for request lines


def test_a_busy_port_says_it_is_in_use(tiny_model_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(
            "serve",
            "--model",
            str(tiny_model_dir),
            "--port",
            str(port),
            env={"TINKTALKER__STORE__BACKEND": "memory"},
        )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [  # one line: bound before the model loads
        f"tinktalker: error: cannot listen on 127.0.0.1:{port}: the port is in use by another "
        "program; stop it or pick another port with --port (server.port)"
    ]


# Runs the CLI without the capability to bind ports below 1024 (prctl PR_CAPBSET_DROP of
# CAP_NET_BIND_SERVICE before exec), so even root, as in CI, gets the kernel's own EACCES.
_WITHOUT_LOW_PORTS = """
import ctypes, os, sys
if ctypes.CDLL(None, use_errno=True).prctl(24, 10, 0, 0, 0) != 0 and os.geteuid() == 0:
    raise SystemExit("could not drop CAP_NET_BIND_SERVICE")
os.execv(sys.executable, [sys.executable, "-m", "tinktalker.entrypoints.cli", *sys.argv[1:]])
"""


def _lowest_unprivileged_port() -> int:
    try:
        return int(open("/proc/sys/net/ipv4/ip_unprivileged_port_start").read())
    except OSError:
        return 1024


@pytest.mark.skipif(_lowest_unprivileged_port() <= 1, reason="this kernel lets anyone bind port 1")
def test_a_privileged_port_says_permission_denied(tiny_model_dir):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TINKTALKER__STORE__BACKEND": "memory"}
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_LOW_PORTS, "serve", "--model", str(tiny_model_dir)]
        + ["--port", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "permission denied (ports below 1024 need root)" in last


@pytest.mark.parametrize(
    "error,says",
    [
        (
            OSError(errno.EACCES, "Permission denied"),
            "permission denied (ports below 1024 need root)",
        ),
        (
            OSError(errno.EADDRINUSE, "Address already in use"),
            "the port is in use by another program",
        ),
        (
            OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address"),
            "this machine has no address 10.9.9.9",
        ),
        (
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
            "no such host name '10.9.9.9'",
        ),
    ],
)
def test_each_bind_error_is_told_apart(error, says):
    assert says in describe_bind_error("10.9.9.9", 1, error)


def test_the_docs_page_loads_nothing_from_outside():
    with api_server(FakeReplyGenerator()) as url:
        page = httpx.get(f"{url}/schema")
        assert page.status_code == 200 and "SwaggerUIBundle" in page.text
        assert (
            re.findall(r"(?:https?:)?//[\w.-]+\.\w+/", page.text) == []
        )  # no CDN, no outside favicon
        assets = re.findall(r"(?:src|href)=['\"]([^'\"]+)", page.text)
        assert (
            len(assets) == 4
        )  # the script, its preset, the stylesheet and the icon, all served here
        for asset in assets:
            response = httpx.get(url + asset)
            assert response.status_code == 200 and len(response.content) > 500, asset


def example_of(schema: dict, components: dict):
    """A body made of the examples the schema gives (following $ref), as a client reading the docs
    would write."""
    if "$ref" in schema:
        return example_of(components[schema["$ref"].rsplit("/", 1)[1]], components)
    if "examples" in schema:
        return schema["examples"][0]
    return {
        name: example_of(field, components)
        for name, field in schema.get("properties", {}).items()
        if "examples" in field or "$ref" in field
    }


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions", "/answer"])
def test_the_schema_examples_are_requests_the_api_answers(path):
    with api_server(FakeReplyGenerator()) as url:
        document = httpx.get(f"{url}/schema/openapi.json").json()
        components = document["components"]["schemas"]
        body_schema = document["paths"][path]["post"]["requestBody"]["content"]["application/json"][
            "schema"
        ]
        body = example_of(body_schema, components)
        response = httpx.post(url + path, json=body)
    assert response.status_code in (200, 201), (body, response.text)
    reply_schema = components["ChatCompletion"]["properties"]
    assert (
        reply_schema["model"]["examples"] == ["tinktalker"]
        and body.get("model", "tinktalker") == "tinktalker"
    )
