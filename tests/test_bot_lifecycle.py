"""The bot's start and stop: setup errors in one line, webhook mode with its secret, SIGTERM
mid-reply."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from devkit.bot_fakes import EchoContextGenerator, echo
from devkit.bot_run import ALICE, TOKEN, BotRun, bot_settings, private
from tinktalker.domain.dialogue import Message, Speaker
from tinktalker.domain.errors import SetupError
from tinktalker.entrypoints.bot.run import run_bot
from tinktalker.entrypoints.container import make_container


def test_a_missing_token_names_the_variable_and_botfather(api):
    with pytest.raises(SetupError, match="TELEGRAM_TOKEN is not set.*@BotFather"):
        with BotRun(api, bot_settings(api, None), EchoContextGenerator(), env={}):
            pass


def test_a_rejected_token_is_one_line_without_the_token(api):
    wrong = "999:WRONG-secret-token-of-the-right-sha"
    with pytest.raises(SetupError, match="Telegram rejected TELEGRAM_TOKEN") as raised:
        with BotRun(
            api, bot_settings(api, None), EchoContextGenerator(), env={"TELEGRAM_TOKEN": wrong}
        ):
            pass
    assert "WRONG" not in str(raised.value) and api.rejected_tokens == [wrong]


def test_an_unreachable_bot_api_names_the_setting(api):
    settings = bot_settings(api, None, api_base_url=f"http://127.0.0.1:{_free_port()}/bot")
    with pytest.raises(SetupError, match="cannot reach the Bot API.*bot.api_base_url"):
        with BotRun(api, settings, EchoContextGenerator()):
            pass


def test_webhook_mode_needs_its_public_url(api):
    with pytest.raises(SetupError, match="bot.webhook.public_url"):
        with BotRun(api, bot_settings(api, None, mode="webhook"), EchoContextGenerator()):
            pass


def test_webhook_mode_registers_the_url_and_secret_and_answers_only_telegram(api):
    port = _free_port()
    webhook = {
        "public_url": "https://bot.example.test/tg-hook",
        "listen": "127.0.0.1",
        "port": port,
        "path": "tg-hook",
    }
    settings = bot_settings(api, None, mode="webhook", webhook=webhook)
    env = {"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": "hook-secret_42"}
    with BotRun(api, settings, EchoContextGenerator(), env=env):
        registered = api.sent("setWebhook")[0].params
        _wait_until_listening(port)  # setWebhook goes out just before the server binds
        assert (
            registered["url"] == webhook["public_url"]
            and registered["secret_token"] == "hook-secret_42"
        )
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": private(ALICE),
                "from": ALICE,
                "text": "via webhook",
            },
        }
        assert _post(f"http://127.0.0.1:{port}/tg-hook", update, "not-the-secret") == 403
        assert _post(f"http://127.0.0.1:{port}/tg-hook", update, "hook-secret_42") == 200
        assert api.wait_for_texts(ALICE["id"], 1) == [echo([Message(Speaker.USER, "via webhook")])]
    assert not api.sent("getUpdates")


def test_sigterm_finishes_the_replies_in_flight_before_exit(api, tmp_path):
    generator = EchoContextGenerator(slow_s=1.5)
    settings = bot_settings(api, tmp_path / "history.sqlite3")
    container = make_container(settings)
    signalled: list[float] = []

    def user_then_sigterm() -> None:
        api.wait_for(lambda: api.sent("getUpdates"), what="polling")
        api.say(private(ALICE), ALICE, "slow goodbye")
        api.wait_for(
            lambda: api.sent("sendChatAction", ALICE["id"]), what="typing"
        )  # the reply is being written
        signalled.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGTERM)

    driver = threading.Thread(target=user_then_sigterm, daemon=True)
    driver.start()
    with container.dialogue_generator.override(generator):
        assert (
            asyncio.run(
                asyncio.wait_for(run_bot(container, settings, env={"TELEGRAM_TOKEN": TOKEN}), 30)
            )
            == 0
        )
    driver.join(5)
    reply = api.sent(chat_id=ALICE["id"])
    assert [c.params["text"] for c in reply] == [echo([Message(Speaker.USER, "slow goodbye")])]
    assert reply[0].at > signalled[0]  # it went out after SIGTERM arrived, before the bot exited
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # the handler is gone again


def _post(url: str, update: dict, secret: str) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(update).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _wait_until_listening(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
