"""`tinktalker export --model X --output DIR [--gguf CONVERTER]`: a folder other engines serve."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from tinktalker.domain.errors import SetupError
from tinktalker.entrypoints.container import Container
from tinktalker.entrypoints.settings import Settings
from tinktalker.training.file_modes import give_written_files_the_usual_mode

GGUF_TYPES = ("f32", "f16", "bf16", "q8_0")


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        required=True,
        metavar="DIR",
        help="folder to write (new or empty, or the model's own folder to add the files in place)",
    )
    parser.add_argument(
        "--gguf",
        metavar="CONVERTER",
        help="also write DIR/model-TYPE.gguf for llama.cpp, running this convert_hf_to_gguf.py "
        "from llama.cpp's source; replies end at the markers there",
    )
    parser.add_argument(
        "--gguf-type",
        choices=GGUF_TYPES,
        default="f16",
        help="the GGUF's weight type (default f16)",
    )


def run_export(
    args: argparse.Namespace, settings: Settings, container: Container, out: TextIO = sys.stdout
) -> int:
    source = settings.model.name_or_path
    output = Path(args.output).expanduser()
    _check_output(output, source)
    if args.gguf and not Path(args.gguf).expanduser().is_file():
        raise SetupError(
            f"--gguf '{args.gguf}' is not a file; give llama.cpp's convert_hf_to_gguf.py (in its "
            "source tree, e.g. vendor/llama.cpp/ of the llama-cpp-python sdist)"
        )
    model, tokenizer = container.model_loader()(
        source, "cpu", settings.model.dtype, settings.model.local_files_only
    )
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output)
    container.serving_files_writer()(output, tokenizer)
    written = "weights, tokenizer with the chat template, generation_config.json"
    if args.gguf:
        gguf = container.gguf_converter()(
            output, tokenizer, converter=Path(args.gguf), outtype=args.gguf_type
        )
        written += f", {gguf.name}"
    # safetensors writes 0600: an engine running as another user (a container) could not read it
    give_written_files_the_usual_mode(output)
    print(
        f"exported {source} to {output}: {written}\n"
        "serve it with: python -m vllm.entrypoints.openai.api_server "
        f"--model {output} --served-model-name {settings.server.model_id}",
        file=out,
    )
    return 0


def _check_output(output: Path, source: str) -> None:
    if output.exists() and not output.is_dir():
        raise SetupError(f"--output '{output}' is a file; give a folder to write the model into")
    same = (
        Path(source).expanduser().exists()
        and output.resolve() == Path(source).expanduser().resolve()
    )
    if output.is_dir() and any(output.iterdir()) and not same:
        raise SetupError(
            f"--output '{output}' is not empty; give a new folder (or the model's own folder)"
        )
