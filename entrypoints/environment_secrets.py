"""Tokens and keys: read from the environment in this one place, never from a file or a flag."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

TOKEN_ENV = "TELEGRAM_TOKEN"
WEBHOOK_SECRET_ENV = "TELEGRAM_WEBHOOK_SECRET"
API_KEY_ENV = "TINKTALKER_API_KEY"
GENERATOR_API_KEY_ENV = "TINKTALKER_GENERATOR_API_KEY"


@dataclass(frozen=True)
class Secrets:
    """Each secret's value, "" when its variable is unset or blank."""

    telegram_token: str
    telegram_webhook_secret: str
    api_key: str  # `tinktalker serve` wants it as a bearer when set
    generator_api_key: str  # what the http backend sends to a model server


def read_secrets(env: Mapping[str, str] | None = None) -> Secrets:
    """The secrets in `env` (default: the process environment), surrounding whitespace dropped."""
    env = os.environ if env is None else env

    def value(var: str) -> str:
        return env.get(var, "").strip()

    return Secrets(
        telegram_token=value(TOKEN_ENV),
        telegram_webhook_secret=value(WEBHOOK_SECRET_ENV),
        api_key=value(API_KEY_ENV),
        generator_api_key=value(GENERATOR_API_KEY_ENV),
    )
