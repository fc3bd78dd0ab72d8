"""`make tiny-model` writes a folder another user can read (safetensors alone would write 0600)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_tiny_model_files_are_0644(tmp_path):
    folder = tmp_path / "tiny-model"
    subprocess.run(
        [sys.executable, "-m", "devkit.tiny_model", str(folder)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        preexec_fn=lambda: os.umask(0o022),
        timeout=120,
    )
    modes = {path.name: oct(path.stat().st_mode & 0o777) for path in folder.iterdir()}
    assert "model.safetensors" in modes and set(modes.values()) == {"0o644"}, modes
