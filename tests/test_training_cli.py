"""`tinktalker train` end to end: a process SIGKILLed while writing a checkpoint resumes to the same
model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from devkit.dialogue_csv import write_dialogue_csv
from tinktalker.entrypoints.cli import main

ROOT = Path(__file__).resolve().parents[1]


def train_args(base: Path, data: Path, output: Path) -> list[str]:
    return [
        "train",
        "--model",
        str(base),
        "--data",
        str(data),
        "--output",
        str(output),
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--lr",
        "0.01",
        "--checkpoint-every",
        "4",
        "--no-progress",
    ]


def run_cli(args: list[str], fault: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TINKTALKER__MODEL__DEVICE": "cpu"}
    env.pop("TINKTALKER_TRAIN_FAULT", None)
    if fault:
        env["TINKTALKER_TRAIN_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "tinktalker.entrypoints.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_killed_during_a_checkpoint_write_then_resumed_equals_uninterrupted(
    tiny_model_dir, tmp_path, monkeypatch, capsys
) -> None:
    data = write_dialogue_csv(tmp_path / "chat.csv", rows=100)
    killed = run_cli(
        train_args(tiny_model_dir, data, tmp_path / "killed"), fault="kill-in-checkpoint:3"
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert list(
        (tmp_path / "killed" / "checkpoints").glob(".writing-*")
    )  # the half-written one is there
    resumed = run_cli([*train_args(tiny_model_dir, data, tmp_path / "killed"), "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stdout and "step-000000008" in resumed.stdout
    # said before the cache is built, so a run too large for memory can be stopped at once
    assert "the hidden-state cache will need about" in resumed.stdout
    monkeypatch.setenv("TINKTALKER__MODEL__DEVICE", "cpu")
    assert main(train_args(tiny_model_dir, data, tmp_path / "whole")) == 0
    expected, got = (
        load_file(tmp_path / "whole" / "model.safetensors"),
        load_file(tmp_path / "killed" / "model.safetensors"),
    )
    assert all(torch.equal(expected[name], got[name]) for name in expected)
    assert "100 rows, 100 used, 0 skipped" in capsys.readouterr().out
    # the trained folder is ready for other engines too: chat template and the marker-stopping
    # generation config
    assert "chat_template" in (tmp_path / "whole" / "tokenizer_config.json").read_text(
        encoding="utf-8"
    )
    assert (
        len(json.loads((tmp_path / "whole" / "generation_config.json").read_text())["eos_token_id"])
        == 3
    )


def test_a_malformed_csv_is_one_clear_line(tiny_model_dir, tmp_path, capsys) -> None:
    bad = tmp_path / "chat.csv"
    bad.write_bytes("first,second\nпривет,да\n".encode("cp1251"))
    assert main(train_args(tiny_model_dir, bad, tmp_path / "out")) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert error.startswith(f"tinktalker: error: training data '{bad}' line 2: not UTF-8")


def test_the_same_command_runs_data_parallel_under_torchrun(tiny_model_dir, tmp_path) -> None:
    import json

    data = write_dialogue_csv(tmp_path / "chat.csv", rows=100)  # 95 to train: 12 batches of 8
    env = {**os.environ, "TINKTALKER__MODEL__DEVICE": "cpu", "OMP_NUM_THREADS": "1"}
    env.pop("TINKTALKER_TRAIN_FAULT", None)
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "tinktalker.entrypoints.cli",
        *train_args(tiny_model_dir, data, tmp_path / "out"),
        "--mode",
        "full",
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("model saved to") == 1  # one process speaks and saves
    log = json.loads((tmp_path / "out" / "training_log.json").read_text(encoding="utf-8"))
    assert log["steps"] == 12  # 2 epochs x 6 steps: each process took half of the 12 batches


def test_flags_are_checked_like_config_keys(tiny_model_dir, tmp_path, capsys) -> None:
    data = write_dialogue_csv(tmp_path / "chat.csv", rows=10)
    assert (
        main([*train_args(tiny_model_dir, data, tmp_path / "out"), "--validation-fraction", "1.5"])
        == 2
    )
    assert "training validation_fraction (--validation-fraction" in capsys.readouterr().err
