"""Reads settings: schema defaults, a YAML file, TINKTALKER__SECTION__KEY variables, then flags.

pydantic-settings layers the sources (flags > environment > file > defaults); this module finds the
file and turns every mistake into one line that names the key, the variable or the flag to fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings, InitSettingsSource, SettingsConfigDict

from tinktalker.domain.errors import SetupError
from tinktalker.entrypoints.environment_source import ENV_PREFIX, YamlEnvironmentSource
from tinktalker.entrypoints.settings import Settings

MODEL_ENV = "TINKTALKER_MODEL"
CONFIG_ENV = "TINKTALKER_CONFIG"
# The defaults are the schema's (entrypoints/settings.py), so an installed package needs no file;
# the repository's config.yml states the same values (a test holds them equal) and is read in a
# source checkout.
SOURCE_ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CONFIG = SOURCE_ROOT / "config.yml"


class LayeredSettings(Settings, BaseSettings):
    """The schema, filled by pydantic-settings from the sources `load_settings` hands it."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True)


def shipped_config() -> Path | None:
    """config.yml beside pyproject.toml (a source checkout or editable install), else None: a
    wheel installs no file there, and a config.yml another package left in site-packages is not
    ours."""
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
    and command-line flags (`flags`: dotted key -> value, None = not given), all checked."""
    env = os.environ if env is None else env
    path = path or env.get(CONFIG_ENV) or shipped_config()
    given = {key: value for key, value in (flags or {}).items() if value is not None}
    flagged = set(given)
    if model or env.get(MODEL_ENV):  # --model, then $TINKTALKER_MODEL, over every other source
        given = {"model.name_or_path": model or env[MODEL_ENV], **given}
    environment = YamlEnvironmentSource(LayeredSettings, env)
    sources = (
        InitSettingsSource(LayeredSettings, nested(given)),
        environment,
        InitSettingsSource(LayeredSettings, read_yaml(Path(path)) if path else {}),
    )
    try:
        layered = LayeredSettings(_build_sources=(sources, {}))
    except ValidationError as error:
        raise SetupError(describe(error, path, flagged, environment.variables)) from None
    return Settings.model_validate(layered.model_dump())


def nested(dotted: Mapping[str, Any]) -> dict[str, Any]:
    """{'server.port': 1} as {'server': {'port': 1}}, the shape pydantic-settings' sources hand."""
    tree: dict[str, Any] = {}
    for key, value in dotted.items():
        *sections, name = key.split(".")
        branch = tree
        for section in sections:
            branch = branch.setdefault(section, {})
        branch[name] = value
    return tree


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


def describe(
    error: ValidationError,
    path: str | Path | None,
    flagged: AbstractSet[str] = frozenset(),
    from_env: Mapping[str, str] | None = None,
) -> str:
    """One line per problem, naming the key and where its value came from."""
    return "\n".join(
        _problem_line(problem, path, flagged, from_env or {}) for problem in error.errors()
    )


def _problem_line(
    problem: Any, path: str | Path | None, flagged: AbstractSet[str], from_env: Mapping[str, str]
) -> str:
    key = ".".join(str(part) for part in problem["loc"])
    variable = next(
        (var for dotted, var in from_env.items() if key == dotted or key.startswith(dotted + ".")),
        None,
    )
    if key in flagged:
        where = " (given by its command-line flag)"
    elif variable:
        where = f" (from environment variable {variable})"
    else:
        where = f" in '{path}' or {ENV_PREFIX} variables" if path else f" in {ENV_PREFIX} variables"
    if problem["type"] == "extra_forbidden":
        return f"unknown config key '{key}'{where}; see config.yml for the keys there are"
    return f"config key '{key}'{where}: {problem['msg']} (got {problem.get('input')!r})"
