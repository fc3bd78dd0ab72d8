"""The webhook server against hostile or broken requests: a size limit before the body is read and
before the secret is checked, slow bodies closed, updates that can never be handled confirmed with
one warning each (Telegram would re-send them forever), the bot answering on after all of them."""

from __future__ import annotations

import json
import logging
import socket
import time
import urllib.error
import urllib.request

import pytest

from devkit.bot_fakes import EchoContextGenerator, echo, user
from devkit.bot_run import ALICE, TOKEN, BotRun, bot_settings, private
from tests.test_bot_lifecycle import _free_port, _wait_until_listening

SECRET = "hook-secret_42"


@pytest.fixture
def hook(api):
    port = _free_port()
    webhook = {
        "public_url": "https://bot.example.test/hook",
        "listen": "127.0.0.1",
        "port": port,
        "path": "hook",
        "max_body_bytes": 1 << 20,
        "body_timeout_s": 0.5,
    }
    settings = bot_settings(api, None, mode="webhook", webhook=webhook)
    env = {"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET}
    with BotRun(api, settings, EchoContextGenerator(), env=env):
        _wait_until_listening(port)
        yield port


def _post(port: int, body: bytes, secret: str = SECRET) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/hook",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _update(update_id, text: str = "hi", **message) -> bytes:
    fields = {"message_id": 1, "date": int(time.time()), "chat": private(ALICE), "from": ALICE}
    return json.dumps(
        {"update_id": update_id, "message": {**fields, "text": text, **message}}
    ).encode()


def _head(port: int, length: int, secret: str = SECRET, chunked: bool = False) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {length}"
    connection.sendall(
        f"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {secret}\r\n{framing}\r\n\r\n".encode()
    )
    return connection


@pytest.mark.parametrize("secret", [SECRET, "not-the-secret"])
def test_a_10_mb_body_is_refused_before_it_is_read_and_before_the_secret_check(hook, secret):
    with _head(hook, 10 * 1024 * 1024, secret) as connection:  # the body is never sent
        assert connection.recv(100).startswith(b"HTTP/1.1 400")


def test_a_chunked_body_is_refused_once_it_passes_the_limit(hook):
    chunk = b"x" * 65536
    with _head(hook, 0, chunked=True) as connection:
        try:
            for _ in range(32):  # 2 MB, then the end: without a limit it would be read, and a 200
                connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            connection.sendall(b"0\r\n\r\n")
            answer = connection.recv(100)
        except ConnectionResetError:  # refused and closed while we were still sending
            answer = b""
    assert answer.startswith(b"HTTP/1.1 400") or answer == b""


def test_a_body_that_stops_arriving_is_closed(hook):
    with _head(hook, 100) as connection:
        connection.sendall(b'{"update_id": 1')
        connection.settimeout(10)
        assert connection.recv(100) == b""  # closed by the server (body_timeout_s 0.5)


def test_invalid_updates_are_confirmed_with_one_warning_each_and_the_bot_answers_on(
    api, hook, caplog
):
    bodies = [
        b"{not json",
        json.dumps({"update_id": 5, "message": {"message_id": 1, "date": 1, "text": "x"}}).encode(),
        _update("7"),
        _update(10**30),
        _update(-3),
        _update(0),
        b"[" * 20000 + b"]" * 20000,
        b'"just a string"',
    ]
    for body in bodies:
        assert _post(hook, body) == 200
    warnings = [r for r in caplog.records if "invalid update" in r.getMessage()]
    assert len(warnings) == len(bodies)
    assert all(r.levelno == logging.WARNING and not r.exc_info for r in warnings)
    assert _post(hook, _update(8, "still here")) == 200
    assert api.wait_for_texts(ALICE["id"], 1) == [echo([user("still here")])]
