"""A malformed TELEGRAM_TOKEN as a real process: one line, exit 2, before the model or network."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from devkit.bot_run import TOKEN


@pytest.mark.parametrize("token", ["not-a-token", "123456:short", TOKEN + "x", "abc:" + "x" * 35])
def test_a_malformed_token_is_one_line_before_the_model_loads(tmp_path, token):
    env = {
        **os.environ,
        "TELEGRAM_TOKEN": token,
        # a model that is not there and a Bot API nobody answers: either would be a different line
        "TINKTALKER_MODEL": str(tmp_path / "no-such-model"),
        "TINKTALKER__BOT__API_BASE_URL": "http://127.0.0.1:9/bot",
        "TINKTALKER__STORE__BACKEND": "memory",
    }
    result = subprocess.run(
        [sys.executable, "-m", "tinktalker.entrypoints.cli", "bot"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "tinktalker: error: TELEGRAM_TOKEN is not a bot token (expected <digits>:<35 letters, "
        "digits, _ or ->); copy it again from @BotFather"
    ]
    assert token not in result.stdout + result.stderr


def test_a_token_of_the_right_shape_passes_the_check(tmp_path):
    from tinktalker.entrypoints.bot.run import read_token

    assert read_token({"TELEGRAM_TOKEN": f" {TOKEN}\n"}) == TOKEN


def test_the_bot_says_when_its_model_has_random_weights(tiny_model_dir, tmp_path):
    from tinktalker.entrypoints.random_weights import MARKER

    (tiny_model_dir / MARKER).write_text("random\n")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "tinktalker.entrypoints.cli", "bot"],
            capture_output=True,
            text=True,
            timeout=120,
            env={
                **os.environ,
                "TELEGRAM_TOKEN": TOKEN,
                "TINKTALKER_MODEL": str(tiny_model_dir),
                "TINKTALKER__BOT__API_BASE_URL": "http://127.0.0.1:9/bot",  # nobody: it stops there
                "TINKTALKER__STORE__BACKEND": "memory",
            },
        )
    finally:
        (tiny_model_dir / MARKER).unlink()
    assert result.returncode == 2, result.stderr
    assert f"the model {tiny_model_dir} has random weights, untrained" in result.stderr
