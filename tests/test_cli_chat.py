"""`tinktalker chat` driven through stdin, as a person would, in a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, stdin: str = "", env: dict | None = None, cwd: Path | None = None):
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tinktalker.entrypoints.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        cwd=cwd or ROOT,
    )


def test_a_conversation_with_reset_and_quit(tiny_model_dir, tmp_path):
    db = tmp_path / "chat.sqlite3"
    result = run_cli(
        "chat",
        "--model",
        str(tiny_model_dir),
        stdin="привет\nкак дела?\n/reset\nакции\n/quit\nnever read\n",
        env={"TINKTALKER__STORE__SQLITE_PATH": str(db)},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("bot: (thinking…)") == 3  # shown for each of the three messages
    assert out.count("bot: ") - out.count("bot: (thinking…)") == 3  # and three replies
    assert "(conversation forgotten)" in out
    assert "Traceback" not in result.stderr

    import sqlite3

    rows = sqlite3.connect(db).execute("SELECT speaker, text FROM messages ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["user", "bot"] and rows[0][
        1
    ] == "акции"  # /reset forgot the first two


def test_end_of_input_leaves_cleanly(tiny_model_dir, tmp_path):
    result = run_cli(
        "chat",
        "--model",
        str(tiny_model_dir),
        stdin="",
        env={"TINKTALKER__STORE__BACKEND": "memory"},
    )
    assert result.returncode == 0, result.stderr


def test_model_from_the_environment(tiny_model_dir):
    result = run_cli(
        "chat",
        stdin="/quit\n",
        env={"TINKTALKER_MODEL": str(tiny_model_dir), "TINKTALKER__STORE__BACKEND": "memory"},
    )
    assert result.returncode == 0, result.stderr


def test_user_mistakes_give_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("generation:\n  temprature: 1\n", encoding="utf-8")
    cases = [
        (("chat", "--model", str(tmp_path / "missing")), "model folder"),
        (("chat", "--config", str(bad)), "unknown config key 'generation.temprature'"),
        (("chat", "--config", str(tmp_path / "absent.yml")), "absent.yml' not found"),
        (("chat",), "tinkoff-ai/ruDialoGPT-medium"),  # the default hub model, offline
    ]
    for args, needle in cases:
        result = run_cli(*args, env={"TINKTALKER__STORE__BACKEND": "memory"})
        assert result.returncode == 2, (args, result.stderr)
        assert needle in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("tinktalker: error:")


def test_a_bad_serve_flag_is_one_line_naming_the_key(tiny_model_dir):
    result = run_cli("serve", "--model", str(tiny_model_dir), "--port", "99999")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("tinktalker: error: config key 'server.port'")
    )
