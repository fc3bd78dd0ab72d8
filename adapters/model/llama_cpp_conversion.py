"""An exported model folder as one GGUF file for llama.cpp, whose replies end at the markers.

llama.cpp's own converter (`convert_hf_to_gguf.py`, in its source tree) does the work, run in a
child process with two changes: a byte-level GPT-2 tokenizer it does not know by hash gets GPT-2's
pre-tokenizer (the split is the same; only the vocabulary differs), and the two markers become the
end-of-turn and end-of-message tokens, which llama.cpp adds to its end-of-generation list. Without
them the markers are control tokens that render empty and a reply runs on to the length limit.
"""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

from tinktalker.adapters.model.rudialogpt_prompt import PromptMarkers, RuDialoGptPrompt
from tinktalker.domain.errors import SetupError

_RUN = "from tinktalker.adapters.model.llama_cpp_conversion import run_converter; run_converter()"


def convert_to_gguf(
    folder: Path, tokenizer, converter: Path, outtype: str, markers: PromptMarkers
) -> Path:
    """Writes `folder/model-<outtype>.gguf` from the model folder and returns its path."""
    script = Path(converter).expanduser()
    ends = _end_of_generation_ids(tokenizer, markers)
    target = Path(folder) / f"model-{outtype}.gguf"
    command = [sys.executable, "-c", _RUN, str(script), *map(str, ends), str(folder)]
    command += ["--outfile", str(target), "--outtype", outtype]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not target.is_file():
        lines = done.stderr.strip().splitlines() or ["no output"]
        last = next((line for line in reversed(lines) if "Error" in line), lines[-1])[:300]
        raise SetupError(f"llama.cpp's converter failed on {folder}: {last}")
    return target


def _end_of_generation_ids(tokenizer, markers: PromptMarkers) -> tuple[int, int]:
    prompt = RuDialoGptPrompt(tokenizer, markers, pad_to_messages=1)  # only its marker ids are read
    if len(prompt.first_ids) != 1 or len(prompt.second_ids) != 1:
        raise SetupError(
            "llama.cpp can end a reply only at single tokens, and a marker here is several; "
            "use prompt markers that are one token each (as ruDialoGPT's are)"
        )
    return prompt.first_ids[0], prompt.second_ids[0]


def run_converter() -> None:
    """The child process; argv: CONVERTER FIRST_ID SECOND_ID, then the converter's own arguments."""
    script, first, second, *arguments = sys.argv[1:]
    sys.path.insert(
        0, str(Path(script).resolve().parent)
    )  # its `conversion` package, if it has one
    converter = runpy.run_path(script, run_name="llama_cpp_converter")  # defines, does not run
    text_model = converter.get("TextModel") or sys.modules["conversion.base"].TextModel
    _patch(text_model, int(first), int(second))
    sys.argv = [script, *arguments]
    converter["main"]()


def _patch(text_model: Any, first: int, second: int) -> None:
    known_pre_tokenizer = text_model.get_vocab_base_pre
    gpt2_vocabulary = text_model._set_vocab_gpt2

    def pre_tokenizer(self, tokenizer) -> str:
        try:
            return known_pre_tokenizer(self, tokenizer)
        except NotImplementedError:
            if _splits_as_gpt2(tokenizer):
                return "gpt-2"
            raise

    def vocabulary(self) -> None:
        gpt2_vocabulary(self)
        self.gguf_writer.add_eot_token_id(first)
        self.gguf_writer.add_eom_token_id(second)

    text_model.get_vocab_base_pre = pre_tokenizer
    text_model._set_vocab_gpt2 = vocabulary


def _splits_as_gpt2(tokenizer) -> bool:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return False
    pre = json.loads(backend.to_str()).get("pre_tokenizer") or {}
    return (
        pre.get("type") == "ByteLevel"
        and pre.get("use_regex", True)
        and not pre.get("add_prefix_space", False)
    )
