"""The command's own help: every flag explained with its default, the environment each command
reads, --version, and a missing extra named in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from tinktalker.entrypoints.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def help_of(command: str, capsys) -> str:
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    return capsys.readouterr().out


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"tinktalker {version('tinktalker')}"


def test_each_command_names_the_environment_it_reads(capsys):
    from tinktalker.entrypoints.config_loading import CONFIG_ENV, MODEL_ENV
    from tinktalker.entrypoints.environment_secrets import (
        API_KEY_ENV,
        GENERATOR_API_KEY_ENV,
        TOKEN_ENV,
        WEBHOOK_SECRET_ENV,
    )

    reads = {
        "chat": [GENERATOR_API_KEY_ENV],
        "bot": [TOKEN_ENV, WEBHOOK_SECRET_ENV, GENERATOR_API_KEY_ENV],
        "serve": [API_KEY_ENV],
        "train": [],
    }
    for command, variables in reads.items():
        text = help_of(command, capsys)
        missing = [
            v
            for v in [CONFIG_ENV, MODEL_ENV, "TINKTALKER__SECTION__KEY", *variables]
            if v not in text
        ]
        assert missing == [], (command, missing)


def test_every_train_flag_has_help_and_a_default_and_the_required_ones_say_so(capsys):
    text = help_of("train", capsys)
    options = {
        action.dest: action
        for action in build_parser()._subparsers._group_actions[0].choices["train"]._actions
    }
    for dest, action in options.items():
        assert action.help, f"--{dest} has no help text"
        if action.option_strings and dest not in (
            "help",
            "resume",
            "no_progress",
            "data",
            "output",
            "config",
            "model",
        ):
            assert "default" in action.help, f"{action.option_strings[0]} does not say its default"
    required = text[text.index("required:") :]
    assert "--data FILE" in required and "--output DIR" in required


@pytest.mark.parametrize(
    "command,module,extra",
    [("serve", "uvicorn", "api"), ("train", "accelerate", "train"), ("bot", "telegram", "bot")],
)
def test_a_missing_extra_is_one_line_naming_it(tiny_model_dir, command, module, extra):
    hide = (
        f"import sys; sys.modules[{module!r}] = None; from entrypoints.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    args = [command, "--model", str(tiny_model_dir)]
    if command == "train":
        args += ["--data", "chat.csv", "--output", "out"]
    env = {**os.environ, "TELEGRAM_TOKEN": "1:x", "TINKTALKER__STORE__BACKEND": "memory"}
    result = subprocess.run(
        [sys.executable, "-c", hide, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        f"tinktalker: error: tinktalker {command} needs the '{extra}' extra ({module} is "
        f"not installed): pip install 'tinktalker[{extra}]', or in a clone: "
        f"pip install -e '.[{extra}]'"
    )
