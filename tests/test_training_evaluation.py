"""`tinktalker train` on the sample Telegram export writes evaluation.json/.md; `evaluate` measures
any two models the same way; the command line refuses abbreviations and shows examples."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tinktalker.entrypoints.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
EXPORT = ROOT / "examples" / "investors_chat.json"


@pytest.fixture(scope="module")
def trained(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("trained") / "out"
    args = ["train", "--model", str(tiny_model_dir), "--data", str(EXPORT), "--output", str(output)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TINKTALKER__MODEL__DEVICE", "cpu")
        assert main([*args, "--epochs", "2", "--lr", "0.01", "--no-progress"]) == 0
    return output


def test_training_writes_an_evaluation_with_perplexity_and_samples(trained: Path) -> None:
    report = json.loads((trained / "evaluation.json").read_text(encoding="utf-8"))
    perplexity = report["perplexity"]
    assert perplexity["after"] < perplexity["before"]
    log = json.loads((trained / "training_log.json").read_text(encoding="utf-8"))
    assert perplexity["after"] == pytest.approx(log["validation_perplexity_after"])
    assert len(report["samples"]) >= 8 and report["held_out"] >= 8
    for sample in report["samples"]:
        assert set(sample) == {"context", "reference", "before", "after"}
        assert sample["context"] and sample["reference"] and sample["before"] and sample["after"]
    for side in ("before", "after"):
        stats = report["generation"][side]
        assert stats["replies"] == len(report["samples"])
        assert set(stats) >= {"mean_words", "empty_or_fallback_rate", "distinct_1", "distinct_2"}
        assert stats["marker_leaks"] == 0
    assert report["decoding"]["num_beams"] == 3  # the configured decoding
    text = (trained / "evaluation.md").read_text(encoding="utf-8")
    assert f"**{perplexity['before']:.2f}** before" in text and "### 8" in text
    assert report["samples"][0]["reference"] in text


def test_evaluate_measures_two_models_as_training_did(
    tiny_model_dir: Path, trained: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("TINKTALKER__MODEL__DEVICE", "cpu")
    args = ["evaluate", "--model", str(trained), "--against", str(tiny_model_dir)]
    assert main([*args, "--data", str(EXPORT), "--output", str(tmp_path)]) == 0
    again = json.loads((tmp_path / "evaluation.json").read_text(encoding="utf-8"))
    first = json.loads((trained / "evaluation.json").read_text(encoding="utf-8"))
    # the whole model scores what the cached head scored in training; replies are seeded alike
    assert again["perplexity"]["before"] == pytest.approx(first["perplexity"]["before"], rel=1e-4)
    assert again["perplexity"]["after"] == pytest.approx(first["perplexity"]["after"], rel=1e-4)
    assert again["samples"] == first["samples"]
    assert "evaluation of" in capsys.readouterr().out


def test_train_without_data_is_one_line_and_make_passes_no_empty_flags(capsys) -> None:
    assert main(["train"]) == 2
    error = capsys.readouterr().err
    assert error == (
        "tinktalker: error: no training data given; pass --data "
        "(or set training.data in the config)\n"
    )
    planned = subprocess.run(
        # --no-print-directory: under CI's own `make test` a nested make names its folders
        ["make", "-n", "--no-print-directory", "-o", ".venv/.installed-dev", "train"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert planned.stdout.strip().splitlines()[-1].split() == [".venv/bin/tinktalker", "train"]


def test_abbreviated_flags_are_refused(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["train", "--data", "x", "--output", "y", "--epoch", "1"])
    assert stop.value.code == 2 and "unrecognized arguments: --epoch" in capsys.readouterr().err


def test_base_is_a_deprecated_alias_of_model(capsys) -> None:
    args = build_parser().parse_args(["train", "--base", "some/model"])
    assert args.model == "some/model"
    assert "--base is deprecated; use --model" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command", ["chat", "bot", "serve", "train", "export", "dataset", "evaluate"]
)
def test_every_command_shows_examples(command: str, capsys) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    text = capsys.readouterr().out
    assert f"examples:\n  tinktalker {command}" in text or "examples:\n  TELEGRAM_TOKEN" in text
