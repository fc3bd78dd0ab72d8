"""The bot and the terminal chat with `generator.backend: http`, talking to a real `tinktalker
serve`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.bot_api_stand_in import BotApiStandIn
from devkit.bot_run import ALICE, BOB, TOKEN, BotRun, bot_settings, private
from devkit.loopback_server import serve_process
from tinktalker.entrypoints.settings import Settings

KEY = "server-key-42"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server(tiny_model_dir):
    env = {
        "TINKTALKER_API_KEY": KEY,
        "TINKTALKER__STORE__BACKEND": "memory",
        "TINKTALKER__GENERATION__MAX_NEW_TOKENS": "6",
    }
    with serve_process(tiny_model_dir, env) as (url, process):
        yield url, process


def http_settings(api: BotApiStandIn, url: str) -> Settings:
    data = bot_settings(api, None).model_dump()
    data["generator"] = {
        "backend": "http",
        "http": {"base_url": url, "deadline_s": 5, "max_retries": 1, "backoff_s": 0.1},
    }
    return Settings.model_validate(data)


def test_the_bot_gets_model_replies_over_http_and_apologises_when_the_server_is_gone(
    server, monkeypatch
):
    url, _ = server
    monkeypatch.setenv("TINKTALKER_GENERATOR_API_KEY", KEY)
    unavailable = Settings().dialogue.unavailable_reply
    with BotApiStandIn(TOKEN) as api, BotRun(api, http_settings(api, url)):
        api.say(private(ALICE), ALICE, "привет, что с рынком?")
        api.say(private(BOB), BOB, "купил облигации")
        alice, bob = api.wait_for_texts(ALICE["id"], 1, 30), api.wait_for_texts(BOB["id"], 1, 30)
        assert unavailable not in alice + bob  # both came from the model server

    dead = "http://127.0.0.1:9"  # nothing listens there: connection refused
    with BotApiStandIn(TOKEN) as api, BotRun(api, http_settings(api, dead)):
        api.say(private(ALICE), ALICE, "ты тут?")
        assert api.wait_for_texts(ALICE["id"], 1, 30) == [unavailable]
        api.say(private(ALICE), ALICE, "а теперь?")  # the bot kept running
        assert api.wait_for_texts(ALICE["id"], 2, 30)[1] == unavailable


def test_the_terminal_chat_talks_to_a_model_server(server):
    url, _ = server
    env = {
        **os.environ,
        "TINKTALKER__GENERATOR__BACKEND": "http",
        "TINKTALKER__GENERATOR__HTTP__BASE_URL": url,
        "TINKTALKER_GENERATOR_API_KEY": KEY,
        "TINKTALKER__STORE__BACKEND": "memory",
        "TINKTALKER_MODEL": "/no/model/needed/here",
    }  # the http backend never loads a model
    result = subprocess.run(
        [sys.executable, "-m", "tinktalker.entrypoints.cli", "chat"],
        input="привет\nкак дела?\n/quit\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    replies = [
        line
        for line in result.stdout.splitlines()
        if line.startswith("bot: ") and "thinking" not in line
    ]
    assert len(replies) == 2 and Settings().dialogue.unavailable_reply not in " ".join(replies)
