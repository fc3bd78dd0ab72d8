"""The bot's config section: config.yml documents the schema's defaults; env overrides reach it."""

from __future__ import annotations

import yaml

from tinktalker.entrypoints.bot.audience import Allowlist
from tinktalker.entrypoints.config_loading import SHIPPED_CONFIG, load_settings
from tinktalker.entrypoints.settings import BotSettings


def test_config_yml_bot_section_equals_the_schema_defaults():
    shipped = yaml.safe_load(SHIPPED_CONFIG.read_text(encoding="utf-8"))["bot"]
    assert BotSettings.model_validate(shipped) == BotSettings()
    assert set(shipped) == set(BotSettings.model_fields)


def test_allowlists_and_webhook_port_come_from_the_environment():
    settings = load_settings(
        env={
            "TINKTALKER__BOT__ALLOWED_USER_IDS": "[1, 2]",
            "TINKTALKER__BOT__WEBHOOK__PORT": "8080",
        }
    )
    assert settings.bot.allowed_user_ids == [1, 2] and settings.bot.webhook.port == 8080


def test_an_allowlist_admits_a_listed_user_anywhere_or_anyone_in_a_listed_chat():
    assert Allowlist().admits(5, 5)
    allowlist = Allowlist(user_ids={1}, chat_ids={-10})
    assert allowlist.admits(1, 1) and allowlist.admits(1, -99) and allowlist.admits(7, -10)
    assert not allowlist.admits(7, 7) and not allowlist.admits(None, -99)
