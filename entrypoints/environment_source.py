"""TINKTALKER__SECTION__KEY variables as a pydantic-settings source, each value read as YAML."""

from __future__ import annotations

from collections.abc import Mapping
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource

from tinktalker.domain.errors import SetupError

ENV_PREFIX = "TINKTALKER__"
DELIMITER = "__"


class YamlEnvironmentSource(EnvSettingsSource):
    """pydantic-settings finds the variables and nests them by `__`; each value is then read as
    YAML, except where the key wants text and YAML would not give text (`Sorry: busy` is a mapping,
    `no` a boolean, `123` a number, `[1, 2` no YAML at all): such text is kept as written."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._env = env
        self._schema = settings_cls
        super().__init__(
            settings_cls,
            case_sensitive=False,
            env_prefix=ENV_PREFIX,
            env_nested_delimiter=DELIMITER,
        )

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # the mapping a caller passed (os.environ, or a dict in tests), matched as env names are
        return {name.lower(): value for name, value in self._env.items()}

    @property
    def variables(self) -> dict[str, str]:
        """Dotted key -> the variable that set it, to name the variable in an error."""
        return {
            ".".join(_keys(var)): var
            for var in sorted(self._env)
            if var.upper().startswith(ENV_PREFIX)
        }

    def decode_complex_value(self, field_name: str, field: FieldInfo | None, value: Any) -> Any:
        return value  # read as YAML below, leaf by leaf, where the variable can be named

    def __call__(self) -> dict[str, Any]:
        for dotted, var in self.variables.items():
            section = dotted.split(".")[0]
            if section not in self._schema.model_fields:
                raise SetupError(
                    f"unknown config key '{section}' (from environment variable {var}); "
                    "see config.yml for the keys there are"
                )
        return self._read_leaves(super().__call__(), [])

    def _read_leaves(self, data: Any, keys: list[str]) -> Any:
        if isinstance(data, dict):
            return {key: self._read_leaves(value, [*keys, key]) for key, value in data.items()}
        if isinstance(data, str):
            return env_value(ENV_PREFIX + DELIMITER.join(keys).upper(), data, keys, self._schema)
        return data


def _keys(var: str) -> list[str]:
    return var[len(ENV_PREFIX) :].lower().split(DELIMITER)


def env_value(var: str, raw: str, keys: list[str], schema: type[BaseModel]) -> Any:
    """A variable's value read as YAML, or its text as written where the key wants text."""
    wants_text = takes_text(schema, keys)
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
    if wants_text and not isinstance(value, str):
        return None if value is None and type(None) in _leaf_types(schema, keys) else raw
    return value


def takes_text(model: type[BaseModel], keys: list[str]) -> bool:
    """Whether the key at `keys` holds a string (str, Literal of strings, or either or None)."""
    options = [a for a in _leaf_types(model, keys) if a is not type(None)]
    return bool(options) and all(
        a is str or (get_origin(a) is Literal and all(isinstance(v, str) for v in get_args(a)))
        for a in options
    )


def _leaf_types(model: type[BaseModel], keys: list[str]) -> tuple[Any, ...]:
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
    annotation = field.annotation
    return get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
