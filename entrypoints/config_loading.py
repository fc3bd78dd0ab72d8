"""Reads settings: schema defaults, then a YAML file, then TINKTALKER__SECTION__KEY variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from tinktalker.domain.errors import SetupError
from tinktalker.entrypoints.settings import Settings

ENV_PREFIX = "TINKTALKER__"
MODEL_ENV = "TINKTALKER_MODEL"
CONFIG_ENV = "TINKTALKER_CONFIG"
# The defaults are the schema's (entrypoints/settings.py), so an installed package needs no file; the
# repository's config.yml states the same values (a test holds them equal) and is read in a source checkout.
SOURCE_ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CONFIG = SOURCE_ROOT / "config.yml"


def shipped_config() -> Path | None:
    """config.yml beside pyproject.toml (a source checkout or editable install), else None: a wheel
    installs no file there, and a config.yml that another package left in site-packages is not ours."""
    return (
        SHIPPED_CONFIG
        if SHIPPED_CONFIG.is_file() and (SOURCE_ROOT / "pyproject.toml").is_file()
        else None
    )


def load_settings(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    model: str | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Settings:
    """Settings from `path` (else $TINKTALKER_CONFIG, else the shipped config.yml), env overrides
    and command-line flags (`flags`: dotted key -> value, None = not given), validated against the schema."""
    env = os.environ if env is None else env
    path = path or env.get(CONFIG_ENV) or shipped_config()
    data = read_yaml(Path(path)) if path else {}
    from_env = {}
    for var, raw in sorted(env.items()):
        if var.startswith(ENV_PREFIX):
            keys = var[len(ENV_PREFIX) :].lower().split("__")
            set_dotted(data, keys, env_value(var, raw, keys))
            from_env[".".join(keys)] = var
    if model or env.get(MODEL_ENV):
        set_dotted(data, ["model", "name_or_path"], model or env[MODEL_ENV])
    given = {key: value for key, value in (flags or {}).items() if value is not None}
    for key, value in given.items():
        set_dotted(data, key.split("."), value)
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        raise SetupError(describe(error, path, set(given), from_env)) from None


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
        raise SetupError(
            f"config file '{path}' must be a mapping of sections (model:, generation:, ...)"
        )
    return data


def env_value(var: str, raw: str, keys: list[str]) -> Any:
    """A variable's value read as YAML, except where the key wants text and YAML would not give text
    (`Sorry: busy` is a mapping, `no` a boolean, `123` a number, `[1, 2` no YAML at all)."""
    wants_text = takes_text(Settings, keys)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as error:
        if wants_text:
            return raw
        mark = getattr(error, "problem", None) or "unreadable"
        raise SetupError(
            f"environment variable {var} is not valid YAML ({mark}): {raw!r}; write it as YAML, "
            "e.g. [1, 2] for a list, or unset it"
        ) from None
    if (
        wants_text
        and not isinstance(value, str)
        and not (value is None and takes_none(Settings, keys))
    ):
        return raw
    return value


def takes_text(model: type[BaseModel], keys: list[str]) -> bool:
    """Whether the key at `keys` holds a string (str, Literal of strings, or either or None)."""
    options = [a for a in _leaf_types(model, keys) if a is not type(None)]
    return bool(options) and all(
        a is str or (get_origin(a) is Literal and all(isinstance(v, str) for v in get_args(a)))
        for a in options
    )


def takes_none(model: type[BaseModel], keys: list[str]) -> bool:
    return type(None) in _leaf_types(model, keys)


def _leaf_types(model: type[BaseModel], keys: list[str]) -> tuple:
    for key in keys[:-1]:
        field = model.model_fields.get(key)
        if field is None or not (
            isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
        ):
            return ()
        model = field.annotation
    field = model.model_fields.get(keys[-1])
    if field is None:
        return ()
    return (
        get_args(field.annotation)
        if get_origin(field.annotation) in (Union, UnionType)
        else (field.annotation,)
    )


def set_dotted(data: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        child = data.setdefault(key, {})
        if not isinstance(child, dict):
            raise SetupError(f"config key '{key}' is a section; it cannot hold a value")
        data = child
    data[keys[-1]] = value


def describe(
    error: ValidationError,
    path: str | Path | None,
    flagged: set[str] = frozenset(),
    from_env: Mapping[str, str] | None = None,
) -> str:
    lines = []
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"])
        variable = next(
            (
                var
                for dotted, var in (from_env or {}).items()
                if key == dotted or key.startswith(dotted + ".")
            ),
            None,
        )
        if key in flagged:
            where = " (given by its command-line flag)"
        elif variable:
            where = f" (from environment variable {variable})"
        else:
            where = (
                f" in '{path}' or TINKTALKER__ variables" if path else " in TINKTALKER__ variables"
            )
        if problem["type"] == "extra_forbidden":
            lines.append(
                f"unknown config key '{key}'{where}; see config.yml for the keys there are"
            )
        else:
            lines.append(
                f"config key '{key}'{where}: {problem['msg']} (got {problem.get('input')!r})"
            )
    return "\n".join(lines)
