"""`tinktalker export --model X --output DIR`: weights, tokenizer with a chat template, generation_config.json."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from tinktalker.domain.errors import SetupError
from tinktalker.entrypoints.container import Container
from tinktalker.entrypoints.settings import Settings


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        required=True,
        metavar="DIR",
        help="folder to write (new or empty, or the model's own folder to add the files in place)",
    )


def run_export(
    args: argparse.Namespace, settings: Settings, container: Container, out: TextIO = sys.stdout
) -> int:
    source = settings.model.name_or_path
    output = Path(args.output).expanduser()
    _check_output(output, source)
    model, tokenizer = container.model_loader()(
        source, "cpu", settings.model.dtype, settings.model.local_files_only
    )
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output)
    container.serving_files_writer()(output, tokenizer)
    print(
        f"exported {source} to {output}: weights, tokenizer with the chat template, generation_config.json\n"
        f"serve it with: vllm serve {output} --served-model-name {settings.server.model_id}",
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
