"""The Dockerfile's command as a real process: `tinktalker bot` on the tiny model (local backend),
polling the loopback stand-in; SIGTERM stops it cleanly; the token is in no output."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.bot_api_stand_in import BotApiStandIn
from devkit.bot_run import ALICE, BOB, TOKEN, private
from tinktalker.entrypoints.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _instructions(name: str) -> list[str]:
    joined = DOCKERFILE.replace("\\\n", " ")
    return [m.group(1).strip() for m in re.finditer(rf"^{name}\s+(.+)$", joined, re.MULTILINE)]


def test_every_file_the_dockerfile_copies_exists_and_is_not_dockerignored():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    sources = [s for line in _instructions("COPY") for s in line.split()[:-1]]
    assert {"pyproject.toml", "config.yml", "domain", "entrypoints", "adapters", "ports"} <= set(
        sources
    )
    for source in sources:
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which is missing"
        assert source not in ignored


def test_the_image_holds_no_token_and_runs_as_a_non_root_user():
    assert "TELEGRAM_TOKEN=" not in "".join(_instructions("ENV")) + "".join(_instructions("ARG"))
    assert _instructions("USER") == ["tinktalker"]
    assert "/data" in _instructions("VOLUME")[0]


def test_the_dockerfile_command_serves_chats_on_the_tiny_model_and_stops_on_sigterm(
    tiny_model_dir, tmp_path
):
    command = json.loads(_instructions("CMD")[0])
    executable = Path(sys.executable).parent / command[0]  # the same console script, from this venv
    db = tmp_path / "data" / "tinktalker.sqlite3"
    with BotApiStandIn(TOKEN) as api:
        env = {
            **os.environ,
            "TELEGRAM_TOKEN": TOKEN,
            "TINKTALKER_CONFIG": str(ROOT / "config.yml"),
            "TINKTALKER__STORE__SQLITE_PATH": str(db),
            "TINKTALKER_MODEL": str(tiny_model_dir),
            "TINKTALKER__BOT__API_BASE_URL": api.base_url,
            "TINKTALKER__BOT__POLLING_TIMEOUT_S": "1",
            "TINKTALKER__GENERATION__MAX_NEW_TOKENS": "8",
            "TINKTALKER__LOGGING__LEVEL": "DEBUG",
        }
        process = subprocess.Popen(
            [str(executable), *command[1:]],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            api.wait_for(
                lambda: api.sent("getUpdates") or process.poll() is not None, 120, "the bot to poll"
            )
            api.say(private(ALICE), ALICE, "привет, как рынок?")
            api.say(private(BOB), BOB, "купил облигации")
            replies = [api.wait_for_texts(user["id"], 1, timeout=60)[0] for user in (ALICE, BOB)]
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err[-3000:]
    assert all(reply.strip() for reply in replies)
    assert not {reply for reply in replies} & {
        Settings().dialogue.unavailable_reply
    }  # the model answered
    assert TOKEN not in out + err and TOKEN.split(":")[1] not in out + err
    assert "getUpdates" in err  # DEBUG logging was on, so the redaction was tested, not just quiet
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT chat_id, speaker FROM messages ORDER BY id").fetchall()
    assert sorted(rows) == sorted(
        [
            (str(ALICE["id"]), "user"),
            (str(ALICE["id"]), "bot"),
            (str(BOB["id"]), "user"),
            (str(BOB["id"]), "bot"),
        ]
    )


@pytest.mark.parametrize(
    "env, message",
    [
        ({}, "TELEGRAM_TOKEN is not set"),
        (
            {"TELEGRAM_TOKEN": TOKEN, "TINKTALKER__BOT__MODE": "webhook"},
            "bot.webhook.public_url is empty",
        ),
    ],
)
def test_setup_problems_exit_2_with_one_line(env, message, tmp_path):
    executable = Path(sys.executable).parent / "tinktalker"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TINKTALKER"))}
    result = subprocess.run(
        [str(executable), "bot"],
        env={**clean, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("tinktalker: error: ") and message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bot_install_without_torch_says_which_extra_the_local_backend_needs(tmp_path):
    script = (
        "import sys; sys.modules['torch'] = None; from entrypoints.cli import main; "
        "sys.exit(main(['bot']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TELEGRAM_TOKEN": TOKEN, "TINKTALKER_MODEL": str(tmp_path)},
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert (
        "generator.backend 'local' needs the torch package" in result.stderr
        and "Traceback" not in result.stderr
    )
