"""Shared fixtures: a tiny random GPT-2 dialogue model on disk, built once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach the hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def conversion_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """model.engine auto converts models for CTranslate2 into the user's cache folder: tests use their own."""
    folder = tmp_path_factory.mktemp("xdg-cache")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture
def api():
    """A Bot API stand-in on loopback for the bot's end-to-end tests."""
    from tests.bot_api_stand_in import BotApiStandIn
    from tests.bot_run import TOKEN

    with BotApiStandIn(TOKEN) as stand_in:
        yield stand_in
