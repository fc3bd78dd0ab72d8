"""Reads settings: schema defaults, then a YAML file, then TINKTALKER__SECTION__KEY variables."""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from domain.errors import SetupError
from entrypoints.settings import Settings

ENV_PREFIX = "TINKTALKER__"
MODEL_ENV = "TINKTALKER_MODEL"
CONFIG_ENV = "TINKTALKER_CONFIG"
SHIPPED_CONFIG = Path(__file__).resolve().parents[1] / "config.yml"


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None,
                  model: str | None = None, flags: Mapping[str, Any] | None = None) -> Settings:
    """Settings from `path` (else $TINKTALKER_CONFIG, else the shipped config.yml), env overrides
    and command-line flags (`flags`: dotted key -> value, None = not given), validated against the schema."""
    env = os.environ if env is None else env
    path = path or env.get(CONFIG_ENV) or (SHIPPED_CONFIG if SHIPPED_CONFIG.is_file() else None)
    data = read_yaml(Path(path)) if path else {}
    for key, value in sorted(env.items()):
        if key.startswith(ENV_PREFIX):
            set_dotted(data, key[len(ENV_PREFIX):].lower().split("__"), yaml.safe_load(value))
    if model or env.get(MODEL_ENV):
        set_dotted(data, ["model", "name_or_path"], model or env[MODEL_ENV])
    given = {key: value for key, value in (flags or {}).items() if value is not None}
    for key, value in given.items():
        set_dotted(data, key.split("."), value)
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        raise SetupError(describe(error, path, set(given))) from None


def read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise SetupError(f"config file '{path}' not found; pass --config with an existing file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise SetupError(f"config file '{path}' is not valid YAML: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SetupError(f"config file '{path}' must be a mapping of sections (model:, generation:, ...)")
    return data


def set_dotted(data: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        child = data.setdefault(key, {})
        if not isinstance(child, dict):
            raise SetupError(f"config key '{key}' is a section; it cannot hold a value")
        data = child
    data[keys[-1]] = value


def describe(error: ValidationError, path: str | Path | None, flagged: set[str] = frozenset()) -> str:
    lines = []
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"])
        if key in flagged:
            where = " (given by its command-line flag)"
        else:
            where = f" in '{path}' or TINKTALKER__ variables" if path else " in TINKTALKER__ variables"
        if problem["type"] == "extra_forbidden":
            lines.append(f"unknown config key '{key}'{where}; see config.yml for the keys there are")
        else:
            lines.append(f"config key '{key}'{where}: {problem['msg']} (got {problem.get('input')!r})")
    return "\n".join(lines)
