"""Conversion for CTranslate2: cached by content and quantization, committed by a rename, errors
that name the fix."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import get_args

import pytest

from devkit import schema_defaults as defaults
from tinktalker.adapters.model.ctranslate2_conversion import converted_model, supported_compute_type
from tinktalker.adapters.model.engine_choice import choose_engine
from tinktalker.domain.errors import SetupError
from tinktalker.entrypoints.settings import ModelSettings

pytestmark = pytest.mark.forked  # CTranslate2 runs natively: a crash fails one named test
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def model_copy(tiny_model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def conversions(caplog) -> int:
    return sum("converting" in r.getMessage() for r in caplog.records)


def test_the_second_use_hits_the_cache_and_another_quantization_misses(
    model_copy, tmp_path, caplog
):
    caplog.set_level(logging.INFO, logger="tinktalker.adapters.model.ctranslate2_conversion")
    first = converted_model(model_copy, "int8", tmp_path / "cache")
    again = converted_model(model_copy, "int8", tmp_path / "cache")
    other = converted_model(model_copy, "float32", tmp_path / "cache")
    assert (
        first == again != other
        and (first / "model.bin").is_file()
        and (other / "model.bin").is_file()
    )
    assert conversions(caplog) == 2
    assert [
        p.name for p in (tmp_path / "cache" / "ctranslate2").iterdir() if p.name.startswith(".")
    ] == []


def test_changed_weights_are_converted_again_but_a_moved_folder_is_not(
    model_copy, tmp_path, caplog
):
    from safetensors.torch import load_file, save_file

    caplog.set_level(logging.INFO, logger="tinktalker.adapters.model.ctranslate2_conversion")
    before = converted_model(model_copy, "int8", tmp_path / "cache")
    moved = Path(shutil.copytree(model_copy, tmp_path / "moved"))
    (moved / "training_log.json").write_text("{}")  # files beside the model are not the model
    assert converted_model(moved, "int8", tmp_path / "cache") == before
    weights = load_file(model_copy / "model.safetensors")
    weights["lm_head.weight" if "lm_head.weight" in weights else "transformer.ln_f.bias"] += 1.0
    save_file(weights, model_copy / "model.safetensors", metadata={"format": "pt"})
    after = converted_model(model_copy, "int8", tmp_path / "cache")
    assert after != before and (after / "model.bin").is_file()
    assert conversions(caplog) == 2


KILLED_CONVERSION = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from tinktalker.adapters.model import ctranslate2_conversion as conversion

    original = conversion.FullVocabularyConverter.convert

    def convert_then_hang(self, output_dir, **kwargs):
        result = original(self, output_dir, **kwargs)
        # the temporary folder is complete; the rename has not happened
        print("written", flush=True)
        time.sleep(600)
        return result

    conversion.FullVocabularyConverter.convert = convert_then_hang
    conversion.converted_model(Path(sys.argv[1]), "int8", Path(sys.argv[2]))
""")


def test_a_killed_conversion_leaves_nothing_that_loads_and_the_next_run_cleans_up(
    model_copy, tmp_path
):
    cache = tmp_path / "cache"
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_CONVERSION, str(model_copy), str(cache)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "written"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    leftovers = list((cache / "ctranslate2").iterdir())
    assert [p.name.startswith(f".converting-{process.pid}-") for p in leftovers] == [True]
    assert (
        leftovers[0] / "model.bin"
    ).is_file()  # complete, yet never committed: no entry names it
    entry = converted_model(model_copy, "int8", cache)
    assert [p.name for p in (cache / "ctranslate2").iterdir()] == [
        entry.name
    ]  # the dead one's folder is gone


def test_an_unwritable_cache_folder_is_one_setup_line(model_copy, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(
        SetupError, match="model.cache_dir.*set model.cache_dir to a writable folder"
    ):
        converted_model(model_copy, "int8", blocker / "cache")


@pytest.mark.parametrize(
    "engine, device, installed, cuda, expected",
    [
        ("auto", "auto", True, False, "ctranslate2"),
        ("auto", "cpu", True, True, "ctranslate2"),
        ("auto", "auto", True, True, "torch"),
        ("auto", "cuda", True, True, "torch"),
        ("auto", "auto", False, False, "torch"),
        ("torch", "cpu", True, False, "torch"),
        ("ctranslate2", "cuda", True, True, "ctranslate2"),
        ("continuous", "cpu", True, True, "continuous"),
        ("continuous", "auto", False, False, "continuous"),
    ],
)
def test_auto_picks_ctranslate2_on_a_cpu_when_installed(engine, device, installed, cuda, expected):
    assert choose_engine(engine, device, installed, cuda) == expected


@pytest.mark.parametrize("device, cuda", [("cuda", True), ("cuda", False), ("auto", True)])
def test_the_continuous_engine_is_refused_on_a_gpu_naming_the_fix(device, cuda):
    with pytest.raises(SetupError) as refused:
        choose_engine("continuous", device, True, cuda)
    message = str(refused.value)
    assert f"model.device is '{device}'" in message and "set model.device: cpu" in message
    assert "model.engine: torch on a GPU" in message and "\n" not in message


def test_continuous_on_cuda_is_one_line_with_exit_2_when_serve_starts(tiny_model_dir):
    from devkit.loopback_server import free_port

    result = subprocess.run(
        [sys.executable, "-m", "tinktalker.entrypoints.cli", "serve", "--model"]
        + [str(tiny_model_dir), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "TINKTALKER__STORE__BACKEND": "memory",
            "TINKTALKER__MODEL__ENGINE": "continuous",
            "TINKTALKER__MODEL__DEVICE": "cuda",
        },
        cwd=ROOT,
    )
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("tinktalker: error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "model.engine 'continuous' runs on a CPU" in lines[0]
    assert "set model.device: cpu" in lines[0], lines[0]


def run_chat(
    model: Path, env: dict, tmp_path: Path, preamble: str = ""
) -> subprocess.CompletedProcess:
    code = (
        f"{preamble}import sys; from entrypoints.cli import main; "
        f"sys.exit(main(['chat', '--model', {str(model)!r}]))"
    )
    environment = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TINKTALKER__STORE__BACKEND": "memory",
        "TINKTALKER__MODEL__CACHE_DIR": str(tmp_path / "cache"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        input="",
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        cwd=ROOT,
    )


def gpt_neo_folder(folder: Path) -> Path:
    from transformers import GPTNeoConfig, GPTNeoForCausalLM

    from devkit.tiny_model import build_tokenizer

    tokenizer = build_tokenizer(folder)
    config = GPTNeoConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_layers=2,
        num_heads=2,
        attention_types=[[["global"], 2]],
        max_position_embeddings=64,
    )
    GPTNeoForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.mark.parametrize(
    "case",
    ["unconvertible", "not-installed", "cuda-on-cpu", "unwritable-cache", "continuous-not-gpt2"],
)
def test_engine_setup_errors_are_one_line_with_exit_2(case, tiny_model_dir, tmp_path):
    model, env, preamble, fix = tiny_model_dir, {"TINKTALKER__MODEL__ENGINE": "ctranslate2"}, "", ""
    if case == "unconvertible":
        model, fix = gpt_neo_folder(tmp_path / "neo"), "CTranslate2 cannot convert the model"
    elif case == "not-installed":
        preamble, fix = "import sys; sys.modules['ctranslate2'] = None; ", "pip install ctranslate2"
    elif case == "cuda-on-cpu":
        env["TINKTALKER__MODEL__DEVICE"], fix = "cuda", "set model.device: cpu"
    elif case == "continuous-not-gpt2":
        env["TINKTALKER__MODEL__ENGINE"] = "continuous"
        model, fix = gpt_neo_folder(tmp_path / "neo"), "runs GPT-2 models, not gpt_neo"
    else:
        (tmp_path / "cache").write_text("a file where the cache folder should be")
        fix = "set model.cache_dir to a writable folder"
    result = run_chat(model, env, tmp_path, preamble)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("tinktalker: error:")]
    assert len(lines) == 1 and fix in lines[0] and "model.engine: torch" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


# every type model.quantization accepts (the settings schema's list), but `auto`
ALL_COMPUTE_TYPES = tuple(
    t for t in get_args(ModelSettings.model_fields["quantization"].annotation) if t != "auto"
)


def test_a_quantization_the_device_lacks_is_one_line_naming_those_it_has():
    with pytest.raises(SetupError) as refused:
        supported_compute_type("bfloat16", "cpu", {"int8", "int8_float32", "int16", "float32"})
    message = str(refused.value)
    assert "\n" not in message
    assert "model.quantization 'bfloat16'" in message
    assert "this machine has: float32, int16, int8, int8_float32 (or auto)" in message
    assert supported_compute_type("int16", "cpu", {"int16", "float32"}) == "int16"
    assert supported_compute_type("auto", "cuda", {"int8_float16", "float16"}) == "int8_float16"
    assert supported_compute_type("auto", "cpu", {"int8", "float32"}) == "int8"


def test_the_installed_ctranslate2_refuses_before_converting(model_copy, tmp_path):
    import ctranslate2

    from tinktalker.adapters.model.ctranslate2_reply_generator import (
        open_ctranslate2_reply_generator,
    )

    supported = ctranslate2.get_supported_compute_types("cpu")
    refused = [t for t in ALL_COMPUTE_TYPES if t not in supported]
    if not refused:
        pytest.skip("this CPU's CTranslate2 runs every compute type")
    with pytest.raises(SetupError, match=f"model.quantization '{refused[0]}' is not supported"):
        next(
            open_ctranslate2_reply_generator(
                str(model_copy),
                device="cpu",
                quantization=refused[0],
                cache_dir=str(tmp_path),
                decoding=defaults.decoding_values(),
                markers=defaults.markers(),
                pad_to_messages=3,
            )
        )
    assert not (tmp_path / "ctranslate2").exists()  # refused before any conversion
