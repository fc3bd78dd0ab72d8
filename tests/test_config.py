"""Settings: config.yml documents the defaults; partial files, env overrides and clear errors."""

from __future__ import annotations

import pytest
import yaml

from tinktalker.domain.errors import SetupError
from tinktalker.entrypoints.config_loading import SHIPPED_CONFIG, load_settings
from tinktalker.entrypoints.settings import Settings


def test_shipped_config_states_exactly_the_schema_defaults():
    shipped = yaml.safe_load(SHIPPED_CONFIG.read_text(encoding="utf-8"))
    assert Settings.model_validate(shipped) == Settings()
    assert shipped == Settings().model_dump()  # every key is written out, none is missing


def test_every_shipped_key_has_a_comment():
    """Each key has its own comment, or sits in a run of sibling keys headed by a comment line."""
    lines = SHIPPED_CONFIG.read_text(encoding="utf-8").splitlines()

    def indent(line: str) -> int:
        return len(line) - len(line.lstrip())

    for number, line in enumerate(lines):
        if (
            not line.startswith("  ")
            or ":" not in line
            or line.strip().startswith("#")
            or "#" in line
        ):
            continue
        above = number - 1
        while (
            above >= 0
            and indent(lines[above]) == indent(line)
            and not lines[above].strip().startswith("#")
        ):
            above -= 1  # walk up through sibling keys to the line heading the group
        assert above >= 0 and lines[above].strip().startswith("#"), (
            f"config.yml line {number + 1} has no comment: {line}"
        )


def test_a_partial_config_overrides_only_what_it_names(tmp_path):
    path = tmp_path / "mine.yml"
    path.write_text("generation:\n  max_new_tokens: 60\n", encoding="utf-8")
    settings = load_settings(path, env={})
    assert settings.generation.max_new_tokens == 60
    assert settings.generation.top_k == 10 and settings.model == Settings().model


def test_environment_overrides_the_file_and_model_flag_wins(tmp_path):
    env = {
        "TINKTALKER__GENERATION__TEMPERATURE": "0.7",
        "TINKTALKER__STORE__BACKEND": "memory",
        "TINKTALKER_MODEL": "/models/from-env",
    }
    settings = load_settings(None, env=env)
    assert settings.generation.temperature == 0.7 and settings.store.backend == "memory"
    assert settings.model.name_or_path == "/models/from-env"
    assert load_settings(None, env=env, model="./flag").model.name_or_path == "./flag"


def test_config_path_from_the_environment(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text("store:\n  backend: memory\n", encoding="utf-8")
    assert load_settings(None, env={"TINKTALKER_CONFIG": str(path)}).store.backend == "memory"


@pytest.mark.parametrize(
    "text,needle",
    [
        ("generation:\n  topk: 5\n", "unknown config key 'generation.topk'"),
        ("generation:\n  top_k: lots\n", "config key 'generation.top_k'"),
        ("store:\n  backend: postgres\n", "config key 'store.backend'"),
        ("modle:\n  device: cpu\n", "unknown config key 'modle'"),
        ("continuous:\n  max_sequences: 0\n", "config key 'continuous.max_sequences'"),
        ("continuous:\n  sequence_tokens: 1\n", "config key 'continuous.sequence_tokens'"),
        ("- just\n- a list\n", "must be a mapping"),
        ("model: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_configs_name_the_key(tmp_path, text, needle):
    path = tmp_path / "bad.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SetupError, match=needle.replace("[", r"\[")):
        load_settings(path, env={})


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(SetupError, match="nope.yml' not found"):
        load_settings(tmp_path / "nope.yml", env={})


def test_an_ill_typed_env_override_is_named():
    with pytest.raises(SetupError, match="generation.max_new_tokens"):
        load_settings(None, env={"TINKTALKER__GENERATION__MAX_NEW_TOKENS": "many"})


def test_flags_override_keys_and_are_checked_like_them():
    settings = load_settings(None, env={}, flags={"server.port": 9001, "server.host": None})
    assert settings.server.port == 9001 and settings.server.host == Settings().server.host
    with pytest.raises(
        SetupError, match=r"config key 'server.port' \(given by its command-line flag\)"
    ):
        load_settings(None, env={}, flags={"server.port": 99999})


@pytest.mark.parametrize(
    "var,raw,key,expected",
    [
        (
            "TINKTALKER__DIALOGUE__UNAVAILABLE_REPLY",
            "Sorry: busy",
            ("dialogue", "unavailable_reply"),
            "Sorry: busy",
        ),
        (
            "TINKTALKER__DIALOGUE__FALLBACK_REPLY",
            "[not closed",
            ("dialogue", "fallback_reply"),
            "[not closed",
        ),
        (
            "TINKTALKER__DIALOGUE__FALLBACK_REPLY",
            "'quoted'",
            ("dialogue", "fallback_reply"),
            "quoted",
        ),
        ("TINKTALKER__MODEL__NAME_OR_PATH", "2024", ("model", "name_or_path"), "2024"),
        ("TINKTALKER__TRAINING__MIXED_PRECISION", "no", ("training", "mixed_precision"), "no"),
        ("TINKTALKER__TRAINING__DATA", "null", ("training", "data"), None),
        ("TINKTALKER__BOT__ALLOWED_USER_IDS", "[1, 2]", ("bot", "allowed_user_ids"), [1, 2]),
    ],
)
def test_environment_values_where_a_key_wants_text_stay_text(var, raw, key, expected):
    section, name = key
    assert getattr(getattr(load_settings(None, env={var: raw}), section), name) == expected


def test_an_environment_value_that_is_not_yaml_names_the_variable():
    with pytest.raises(SetupError) as error:
        load_settings(None, env={"TINKTALKER__BOT__ALLOWED_USER_IDS": "[1, 2"})
    message = str(error.value)
    assert message.startswith(
        "environment variable TINKTALKER__BOT__ALLOWED_USER_IDS is not valid YAML"
    )
    assert "\n" not in message


def test_an_ill_typed_environment_value_blames_the_variable_not_the_file():
    with pytest.raises(SetupError) as error:
        load_settings(SHIPPED_CONFIG, env={"TINKTALKER__BOT__ALLOWED_USER_IDS": "[1, x]"})
    message = str(error.value)
    assert (
        "config key 'bot.allowed_user_ids.1' (from environment variable "
        "TINKTALKER__BOT__ALLOWED_USER_IDS)" in message
    )
    assert "config.yml" not in message


def test_an_installed_package_without_config_yml_has_the_same_defaults(tmp_path, monkeypatch):
    from tinktalker.entrypoints import config_loading

    with_file = load_settings(None, env={})
    monkeypatch.setattr(
        config_loading, "SOURCE_ROOT", tmp_path
    )  # like site-packages: no pyproject.toml
    (tmp_path / "config.yml").write_text(
        "generation:\n  top_k: 1\n", encoding="utf-8"
    )  # someone else's
    monkeypatch.setattr(config_loading, "SHIPPED_CONFIG", tmp_path / "config.yml")
    assert config_loading.shipped_config() is None
    assert load_settings(None, env={}) == with_file == Settings()


def test_flags_beat_the_environment_which_beats_the_file(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text("server:\n  port: 1111\n  host: 10.0.0.1\n", encoding="utf-8")
    env = {"TINKTALKER__SERVER__PORT": "2222"}
    assert load_settings(path, env={}).server.port == 1111
    assert load_settings(path, env=env).server.port == 2222
    settings = load_settings(path, env=env, flags={"server.port": 3333})
    assert settings.server.port == 3333 and settings.server.host == "10.0.0.1"


def test_an_environment_variable_for_an_unknown_section_is_named():
    with pytest.raises(SetupError) as error:
        load_settings(None, env={"TINKTALKER__MODLE__DEVICE": "cpu"})
    assert str(error.value) == (
        "unknown config key 'modle' (from environment variable TINKTALKER__MODLE__DEVICE); "
        "see config.yml for the keys there are"
    )


def test_secrets_are_read_from_the_environment_only(tmp_path):
    from tinktalker.entrypoints.environment_secrets import read_secrets

    secrets = read_secrets(
        {
            "TELEGRAM_TOKEN": " 123:abc\n",
            "TELEGRAM_WEBHOOK_SECRET": "s3cret",
            "TINKTALKER_API_KEY": "key",
        }
    )
    assert secrets.telegram_token == "123:abc" and secrets.telegram_webhook_secret == "s3cret"
    assert secrets.api_key == "key" and secrets.generator_api_key == ""
    # no config key can hold one: the schema has none, so a file naming one is refused
    path = tmp_path / "c.yml"
    path.write_text("bot:\n  token: 123:abc\n", encoding="utf-8")
    with pytest.raises(SetupError, match="unknown config key 'bot.token'"):
        load_settings(path, env={})


def test_decoding_and_the_training_plan_have_no_defaults_of_their_own():
    from dataclasses import MISSING, fields

    from tinktalker.adapters.model.decoding import Decoding
    from tinktalker.entrypoints.settings import GenerationSettings, TrainingSettings
    from tinktalker.training.plan import TrainingPlan

    for kind in (Decoding, TrainingPlan):
        assert [f.name for f in fields(kind) if f.default is not MISSING] == [], kind
    assert {f.name for f in fields(Decoding)} == set(GenerationSettings.model_fields)
    assert set(TrainingSettings.model_fields) <= {f.name for f in fields(TrainingPlan)}
