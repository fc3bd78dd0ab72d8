"""The first run a newcomer makes: the demo model learns the sample chat visibly and answers in its
words; a random-weight folder (`make tiny-model`) is announced as such."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from devkit.tiny_model import chat_lines
from tests.test_cli_chat import run_cli
from tinktalker.entrypoints.random_weights import MARKER

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CHAT = ROOT / "bench" / "data" / "sample_chat.csv"
WORD = re.compile(r"[а-яёa-z]{3,}")


def test_the_demo_model_learns_the_sample_chat_and_answers_in_its_words(tmp_path):
    base = tmp_path / "base"  # built as `make demo-model` does, in its own process
    made = subprocess.run(
        [sys.executable, "-m", "devkit.tiny_model", str(base), str(SAMPLE_CHAT)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    demo = tmp_path / "demo"
    trained = run_cli(
        "train", "--base", str(base), "--data", str(SAMPLE_CHAT), "--output", str(demo),
        "--no-progress", env={"TINKTALKER__MODEL__DEVICE": "cpu"},
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    found = re.search(r"perplexity on replies: ([\d.]+) before, ([\d.]+) after", trained.stdout)
    assert found and float(found[2]) < float(found[1]) / 10, trained.stdout  # learned, visibly
    chat = run_cli(
        "chat", "--model", str(demo), stdin="привет\nчто думаешь о рынке\nсбер брать\n/quit\n",
        # greedy, so the replies are the model's best and the same every run
        env={"TINKTALKER__STORE__BACKEND": "memory", "TINKTALKER__GENERATION__DO_SAMPLE": "false"},
    )  # fmt: skip
    assert chat.returncode == 0, chat.stderr
    replies = [line.split("bot: ", 1)[1] for line in chat.stdout.splitlines() if "bot: " in line]
    replies = [reply for reply in replies if reply != "(thinking…)"]
    known = {word for line in chat_lines(SAMPLE_CHAT) for word in WORD.findall(line.lower())}
    assert len(replies) == 3, chat.stdout
    assert all(set(WORD.findall(reply.lower())) & known for reply in replies), replies
    assert "random weights" not in chat.stdout + chat.stderr


def test_make_tiny_model_marks_its_folder_and_the_chat_says_so(tmp_path):
    folder = tmp_path / "tiny"
    made = subprocess.run(
        [sys.executable, "-m", "devkit.tiny_model", str(folder)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0 and (folder / MARKER).is_file(), made.stderr
    chat = run_cli("chat", "--model", str(folder), stdin="/quit\n",
                   env={"TINKTALKER__STORE__BACKEND": "memory"})  # fmt: skip
    assert chat.returncode == 0, chat.stderr
    assert f"The model {folder} has random weights, untrained: it answers gibberish" in chat.stdout


def test_a_folder_without_the_marker_is_not_called_random(tiny_model_dir):
    chat = run_cli("chat", "--model", str(tiny_model_dir), stdin="/quit\n",
                   env={"TINKTALKER__STORE__BACKEND": "memory"})  # fmt: skip
    assert chat.returncode == 0 and "random weights" not in chat.stdout, chat.stderr
