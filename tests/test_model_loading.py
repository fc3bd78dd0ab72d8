"""Model loading errors a user can make get one clear line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tinktalker.adapters.model.loading import load_model_and_tokenizer, looks_like_path
from tinktalker.domain.errors import SetupError


def test_a_missing_folder_is_named_with_the_fix(tmp_path):
    with pytest.raises(SetupError, match=r"model folder '.*nope' does not exist.*--model"):
        load_model_and_tokenizer(str(tmp_path / "nope"))


def test_a_folder_without_a_model_says_what_it_needs(tmp_path):
    with pytest.raises(SetupError, match="config.json"):
        load_model_and_tokenizer(str(tmp_path))


def test_an_unreachable_hub_gives_the_offline_hint(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SetupError) as error:
        load_model_and_tokenizer("tinkoff-ai/ruDialoGPT-medium")
    message = str(error.value)
    assert (
        "tinkoff-ai/ruDialoGPT-medium" in message and "offline" in message and "--model" in message
    )


# Write-only for every user, root included (a chmod 0200 file root would still read)
WRITE_ONLY = Path("/proc/sys/vm/drop_caches")


@pytest.mark.skipif(not WRITE_ONLY.is_file(), reason="needs Linux's /proc/sys")
def test_an_unreadable_weights_file_is_named_with_the_fix(tiny_model_dir, tmp_path):
    folder = shutil.copytree(tiny_model_dir, tmp_path / "model")
    (folder / "model.safetensors").unlink()
    (folder / "model.safetensors").symlink_to(WRITE_ONLY)
    with pytest.raises(SetupError, match=r"cannot read model.safetensors.*chmod a\+r"):
        load_model_and_tokenizer(str(folder))


def test_an_unknown_dtype_is_named(tiny_model_dir):
    with pytest.raises(SetupError, match="model.dtype 'float8'"):
        load_model_and_tokenizer(str(tiny_model_dir), dtype="float8")


@pytest.mark.parametrize(
    "value,is_path",
    [
        ("tinkoff-ai/ruDialoGPT-medium", False),
        ("./model", True),
        ("/models/x", True),
        ("~/m", True),
        ("a/b/c", True),
    ],
)
def test_hub_ids_and_paths_are_told_apart(value, is_path):
    assert looks_like_path(value) is is_path


@pytest.mark.slow
def test_library_warnings_are_printed_once(tiny_model_dir):
    import subprocess
    import sys

    code = (
        "import logging, sys; logging.basicConfig(format='%(name)s: %(message)s'); from "
        "adapters.model.loading import load_model_and_tokenizer; "
        "load_model_and_tokenizer(sys.argv[1]); from huggingface_hub.utils import logging as hub; "
        "hub.get_logger('huggingface_hub.x').warning('hub says'); from transformers.utils import "
        "logging as tf; tf.get_logger('transformers.y').warning('transformers says')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tiny_model_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("hub says") == 1 and result.stderr.count("transformers says") == 1, (
        result.stderr
    )
