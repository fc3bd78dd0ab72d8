"""`tinktalker export --gguf`: llama.cpp's own converter writes the GGUF, and llama.cpp ends a reply
at the markers (tiny real models; needs llama.cpp's source and, for replies, llama-cpp-python).

Skipped unless TINKTALKER_TEST_GGUF_CONVERTER names llama.cpp's convert_hf_to_gguf.py, e.g. from
the llama-cpp-python sdist (`pip download --no-deps --no-binary llama-cpp-python llama-cpp-python`,
unpacked: vendor/llama.cpp/convert_hf_to_gguf.py). Replies also need `pip install llama-cpp-python`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from devkit.tiny_model import FIRST_MARKER, SECOND_MARKER, build_marker_loving_model
from tinktalker.entrypoints.cli import main

CONVERTER = os.environ.get("TINKTALKER_TEST_GGUF_CONVERTER", "")
pytestmark = pytest.mark.skipif(
    not Path(CONVERTER).is_file(),
    reason="set TINKTALKER_TEST_GGUF_CONVERTER to llama.cpp's convert_hf_to_gguf.py",
)
CHAT = [{"role": "user", "content": "привет"}, {"role": "assistant", "content": "рынок растёт"}]


def _gguf_module():
    sys.path.insert(0, str(Path(CONVERTER).parent / "gguf-py"))  # the converter's own package
    import gguf

    return gguf


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("gguf")
    model = build_marker_loving_model(folder / "model")
    output = folder / "exported"
    command = ["export", "--model", str(model), "--output", str(output), "--gguf", CONVERTER]
    assert main([*command, "--gguf-type", "f32"]) == 0
    return output


def test_the_markers_are_llama_cpps_end_of_turn_and_end_of_message(exported):
    reader = _gguf_module().GGUFReader(exported / "model-f32.gguf")
    fields = {name: field.contents() for name, field in reader.fields.items()}
    tokenizer = AutoTokenizer.from_pretrained(exported)
    assert fields["tokenizer.ggml.eot_token_id"] == tokenizer.convert_tokens_to_ids(FIRST_MARKER)
    assert fields["tokenizer.ggml.eom_token_id"] == tokenizer.convert_tokens_to_ids(SECOND_MARKER)
    assert fields["gpt2.context_length"] == 128
    assert fields["tokenizer.chat_template"] == tokenizer.chat_template


def test_llama_cpp_reads_the_prompt_as_ours_and_ends_the_reply_at_the_marker(exported):
    llama_cpp = pytest.importorskip("llama_cpp")
    tokenizer = AutoTokenizer.from_pretrained(exported)
    ours = tokenizer.apply_chat_template(
        CHAT, tokenize=True, add_generation_prompt=True, return_dict=False
    )
    rendered = tokenizer.apply_chat_template(CHAT, tokenize=False, add_generation_prompt=True)
    llm = llama_cpp.Llama(
        str(exported / "model-f32.gguf"), n_ctx=128, verbose=False, logits_all=True
    )
    assert llm.tokenize(rendered.encode(), add_bos=False, special=True) == list(ours)
    llm.eval(list(ours))  # the model's next token is the user's marker: the turn is over
    assert int(llm.scores[llm.n_tokens - 1].argmax()) == tokenizer.convert_tokens_to_ids(
        FIRST_MARKER
    )
    llm.reset()
    reply = llm.create_chat_completion(CHAT, max_tokens=8, temperature=0)
    assert reply["choices"][0]["finish_reason"] == "stop"
    assert reply["choices"][0]["message"]["content"] == ""
    assert reply["usage"]["completion_tokens"] <= 1
