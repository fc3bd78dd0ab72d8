"""No network, no model: found out in one quick request, told in one line; a cached hub model still
loads."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from devkit.loopback_server import free_port

ROOT = Path(__file__).resolve().parents[1]


def run_chat(
    *args: str, hf_home: Path, stdin: str = ""
) -> tuple[subprocess.CompletedProcess, float]:
    """`tinktalker chat` with the hub made unreachable: its endpoint is a closed loopback port,
    offline mode off."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    }
    env.update(
        HF_ENDPOINT=f"http://127.0.0.1:{free_port()}",
        HF_HOME=str(hf_home),
        TINKTALKER__STORE__BACKEND="memory",
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "tinktalker.entrypoints.cli", "chat", *args],
        input=stdin,
        text=True,
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    return result, time.monotonic() - started


def test_an_unreachable_hub_is_one_line_naming_both_ways_out(tmp_path):
    result, seconds = run_chat(hf_home=tmp_path / "hf")
    print(
        f"unreachable hub reported after {seconds:.1f} s"
    )  # the hub library alone retried for ~50 s
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no retry warnings before it
    assert lines[0].startswith(
        "tinktalker: error: model 'tinkoff-ai/ruDialoGPT-medium' is not on this machine"
    )
    assert "--model FOLDER" in lines[0] and "hf download tinkoff-ai/ruDialoGPT-medium" in lines[0]


def test_a_typo_in_a_folder_name_says_no_such_folder(tmp_path):
    result, _ = run_chat("--model", "tiny-modl", hf_home=tmp_path / "hf")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "tinktalker: error: no such folder 'tiny-modl' (and it is not a hub id like "
        "owner/name); pass --model with the folder of a downloaded or trained model "
        "(or set TINKTALKER_MODEL)"
    )


def test_a_cached_hub_model_loads_when_the_hub_is_unreachable(tmp_path, tiny_model_dir):
    hf_home = tmp_path / "hf"
    repo = hf_home / "hub" / "models--someone--tiny"
    shutil.copytree(tiny_model_dir, repo / "snapshots" / "0123abcd")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd", encoding="utf-8")
    result, _ = run_chat("--model", "someone/tiny", hf_home=hf_home, stdin="привет\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert "loading 'someone/tiny' from its cache" in result.stderr
    assert "bot: " in result.stdout and "Traceback" not in result.stderr


def test_a_hub_that_never_answers_is_given_up_on(tmp_path):
    """A listening socket that accepts and says nothing: the check's own timeout, not the hub
    library's retries."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
        }
        env.update(
            HF_ENDPOINT=f"http://127.0.0.1:{silent.getsockname()[1]}",
            HF_HOME=str(tmp_path / "hf"),
            TINKTALKER__STORE__BACKEND="memory",
        )
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "tinktalker.entrypoints.cli", "chat"],
            input="",
            text=True,
            capture_output=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
        print(f"silent hub reported after {time.monotonic() - started:.1f} s")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "cannot be reached" in result.stderr, (
        result.stderr
    )
