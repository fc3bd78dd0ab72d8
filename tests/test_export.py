"""`tinktalker export`: the folder's chat template renders the project's own prompt, a plain
transformers pipeline on it stops at a marker, another user reads it (tiny models, real files)."""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

from devkit import schema_defaults as defaults
from devkit.tiny_model import FIRST_MARKER, build_marker_loving_model
from tinktalker.adapters.model.rudialogpt_prompt import RuDialoGptPrompt
from tinktalker.domain.dialogue import Message, Speaker
from tinktalker.domain.prompt_safety import context_window
from tinktalker.entrypoints.cli import main

DIALOGUES = [
    [("user", "привет")],
    [("assistant", "рынок растёт"), ("user", "купил акции")],
    [("user", "привет"), ("assistant", "здравствуй"), ("user", "как дела?")],
    [
        ("user", "a"),
        ("assistant", "b"),
        ("user", "c"),
        ("assistant", "d"),
        ("user", "нефть дешевеет"),
    ],
    [("assistant", "ок")],
]


@pytest.fixture(scope="module")
def exported(tiny_model_dir, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("exported") / "model"
    assert main(["export", "--model", str(tiny_model_dir), "--output", str(output)]) == 0
    return output


@pytest.mark.parametrize("dialogue", DIALOGUES, ids=lambda d: f"{len(d)} messages")
def test_the_chat_template_gives_the_ids_of_the_projects_prompt(exported, dialogue):
    tokenizer = AutoTokenizer.from_pretrained(exported)
    chat = [{"role": "system", "content": "ignored"}] + [
        {"role": r, "content": t} for r, t in dialogue
    ]
    rendered = tokenizer.apply_chat_template(
        chat, tokenize=True, add_generation_prompt=True, return_dict=False
    )
    messages = [Message(Speaker.USER if r == "user" else Speaker.BOT, t) for r, t in dialogue]
    expected = RuDialoGptPrompt(tokenizer, defaults.markers(), 3).encode(
        context_window(messages, 3), 1 << 30
    )
    assert list(rendered) == expected


def test_the_generation_config_stops_at_eos_and_both_markers_with_the_model_card_sampling(exported):
    from transformers import GenerationConfig

    tokenizer = AutoTokenizer.from_pretrained(exported)
    config = GenerationConfig.from_pretrained(exported)
    prompt = RuDialoGptPrompt(tokenizer, defaults.markers(), 3)
    assert set(config.eos_token_id) == {
        tokenizer.eos_token_id,
        *prompt.first_ids,
        *prompt.second_ids,
    }
    card = dict(
        top_k=10,
        top_p=0.95,
        num_beams=3,
        do_sample=True,
        no_repeat_ngram_size=2,
        temperature=1.2,
        repetition_penalty=1.2,
        length_penalty=1.0,
        max_new_tokens=40,
    )
    assert {key: getattr(config, key) for key in card} == card


def test_a_plain_pipeline_on_the_exported_folder_stops_at_the_marker(tmp_path):
    plain = build_marker_loving_model(tmp_path / "plain")
    exported = tmp_path / "exported"
    assert main(["export", "--model", str(plain), "--output", str(exported)]) == 0
    chat = [{"role": "user", "content": "привет"}]

    def reply(folder: Path) -> str:
        generate = pipeline("text-generation", model=str(folder), device="cpu")
        prompt = (
            generate.tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
            if generate.tokenizer.chat_template
            else "@@ПЕРВЫЙ@@ привет @@ВТОРОЙ@@"
        )
        torch.manual_seed(0)
        return generate(prompt, max_new_tokens=6, return_full_text=False)[0]["generated_text"]

    assert FIRST_MARKER in reply(plain)  # without the export it writes the user's turn
    assert reply(exported).strip() == ""  # with it the marker ends the reply, and is not shown


def test_export_refuses_a_folder_that_holds_other_files(tiny_model_dir, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["export", "--model", str(tiny_model_dir), "--output", str(tmp_path)]) == 2
    assert "is not empty" in capsys.readouterr().err


NOBODY = 65534


def _read_as_nobody(paths: list[Path]) -> list[str]:
    """The files user nobody (uid 65534, no groups) cannot read, tried by cat in a child."""
    refused = []
    for path in paths:
        done = subprocess.run(
            ["/bin/cat", str(path)],
            user=NOBODY,
            group=NOBODY,
            extra_groups=[],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        if done.returncode != 0:
            refused.append(path.name)
    return refused


@pytest.fixture
def shared_folder():
    """A folder every user may enter (pytest's own tmp folders are 0700), under umask 022."""
    folder = Path(tempfile.mkdtemp(prefix="tinktalker-export-"))
    folder.chmod(0o755)
    mask = os.umask(0o022)
    try:
        yield folder
    finally:
        os.umask(mask)
        shutil.rmtree(folder, ignore_errors=True)


def test_another_user_can_read_every_exported_file(tiny_model_dir, shared_folder):
    output = shared_folder / "served"
    assert main(["export", "--model", str(tiny_model_dir), "--output", str(output)]) == 0
    files = sorted(p for p in output.rglob("*") if p.is_file())
    assert "model.safetensors" in {p.name for p in files}
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {"0o644"}
    if os.geteuid() != 0:
        pytest.skip("reading as another user needs root to switch to user nobody; modes checked")
    private = shared_folder / "private"
    private.write_text("x")
    private.chmod(0o600)
    assert _read_as_nobody([private]) == ["private"]  # the reader does tell an unreadable file
    assert _read_as_nobody(files) == []


def test_the_model_config_names_its_context_length_as_llama_cpp_reads_it(exported):
    config = json.loads((exported / "config.json").read_text(encoding="utf-8"))
    assert config["n_ctx"] == config["n_positions"] == 128
    assert AutoModelForCausalLM.from_pretrained(exported).config.n_positions == 128


FAILING_CONVERTER = """
class TextModel:
    def get_vocab_base_pre(self, tokenizer): ...
    def _set_vocab_gpt2(self): ...

def main():
    raise NotImplementedError("BPE pre-tokenizer was not recognized")
"""


def test_a_failing_gguf_converter_is_one_line_with_its_error(tiny_model_dir, tmp_path, capsys):
    converter = tmp_path / "convert_hf_to_gguf.py"
    converter.write_text(FAILING_CONVERTER)
    output = tmp_path / "served"
    command = ["export", "--model", str(tiny_model_dir), "--output", str(output)]
    assert main([*command, "--gguf", str(converter)]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("tinktalker: error: llama.cpp's converter failed on")
    assert error.endswith("NotImplementedError: BPE pre-tokenizer was not recognized")


def test_gguf_wants_the_converter_script_before_writing_anything(tiny_model_dir, tmp_path, capsys):
    output = tmp_path / "served"
    command = ["export", "--model", str(tiny_model_dir), "--output", str(output)]
    assert main([*command, "--gguf", str(tmp_path / "missing.py")]) == 2
    assert "convert_hf_to_gguf.py" in capsys.readouterr().err
    assert not output.exists()
