"""No `\\r` progress bar reaches a log: ours are off there, and so are the libraries' (transformers'
`Loading weights` and `Writing model shards`), with or without --no-progress."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.dialogue_csv import write_dialogue_csv

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("flags", [["--no-progress"], []])
def test_training_into_a_log_draws_no_bar(tiny_model_dir, tmp_path, flags):
    data = write_dialogue_csv(tmp_path / "chat.csv", rows=40)
    command = [sys.executable, "-m", "tinktalker.entrypoints.cli", "train"]
    command += [
        "--base",
        str(tiny_model_dir),
        "--data",
        str(data),
        "--output",
        str(tmp_path / "out"),
    ]
    result = subprocess.run(
        [*command, "--epochs", "1", *flags],
        cwd=ROOT,
        env={**os.environ, "TINKTALKER__MODEL__DEVICE": "cpu"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "model.safetensors").exists()  # the shards were written, silently
    assert "\r" not in result.stderr, result.stderr
    assert "Loading weights" not in result.stderr and "Writing model shards" not in result.stderr
