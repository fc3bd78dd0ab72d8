"""Seconds per epoch and tokens/s: the original recipe vs HF Trainer (fixed recipe) vs training/
(cached head).

One run, this machine, the same CSV and model for every row. The model is GPT-2 shaped with
ruDialoGPT's vocabulary (50261) but fewer/narrower layers so the original recipe finishes on a CPU;
`--layers 24 --embd 1024 --heads 16` is the real medium shape (for a GPU host).

    python -m bench.train_speed  # prints a table, writes bench/results/train_speed_cpu.{md,json}
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import tempfile
import time
from pathlib import Path

import torch

from bench.hf_trainer_recipe import trainer_epoch
from bench.original_recipe import original_epoch
from devkit import schema_defaults as defaults
from devkit.tiny_model import _CORPUS, FIRST_MARKER, SECOND_MARKER, build_tiny_model
from tinktalker.adapters.model.loading import load_model_and_tokenizer
from tinktalker.adapters.model.rudialogpt_prompt import RuDialoGptPrompt
from tinktalker.training.chat_files import read_chat_data
from tinktalker.training.examples import ExampleEncoder
from tinktalker.training.run import run_training

RESULTS = Path(__file__).parent / "results"


def write_chat(path: Path, rows: int) -> None:
    rng = random.Random(0)
    words = " ".join(_CORPUS).split()
    side = lambda: " ".join(rng.choice(words) for _ in range(rng.randint(3, 14)))  # noqa: E731
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["first", "second"])
        writer.writerows([side(), side()] for _ in range(rows))


def pipeline_epochs(model_dir: Path, data: Path, folder: Path, args) -> tuple[float, list[float]]:
    """(setup seconds incl. the one hidden-state pass, seconds of each epoch incl. validation +
    checkpoint)."""
    marks: list[float] = []
    plan = defaults.training_plan(
        data,
        model_dir,
        folder / "pipeline",
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_fraction=args.validation_fraction,
        checkpoint_every=0,
        device="cpu",
    )
    started = time.perf_counter()
    run_training(
        plan,
        load_model_and_tokenizer,
        RuDialoGptPrompt.for_markers,
        progress_bars=False,
        on_event=lambda name, _: (
            marks.append(time.perf_counter()) if name in ("train-start", "epoch-end") else None
        ),
    )
    return marks[0] - started, [b - a for a, b in zip(marks, marks[1:], strict=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--embd", type=int, default=256)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--validation-fraction", type=float, default=0.05)
    parser.add_argument("--name", default="train_speed_cpu")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        model_dir = build_tiny_model(
            folder / "model",
            n_layer=args.layers,
            n_embd=args.embd,
            n_head=args.heads,
            n_positions=512,
            vocab_size=50261,
        )
        write_chat(folder / "chat.csv", args.rows)
        results = measure(model_dir, folder / "chat.csv", folder, args)
    report(results, args)


def measure(model_dir: Path, data: Path, folder: Path, args) -> dict:
    exchanges = read_chat_data(data, defaults.data_rules()).exchanges
    held_out = max(1, round(len(exchanges) * args.validation_fraction))
    train_rows = exchanges[:-held_out]  # every recipe trains on the same rows
    model, tokenizer = load_model_and_tokenizer(str(model_dir), "cpu", "float32")
    examples = ExampleEncoder(
        RuDialoGptPrompt.for_markers(tokenizer, FIRST_MARKER, SECOND_MARKER, 3), 300
    ).encode_all(train_rows)
    tokens = sum(len(e) for e in examples)
    original = original_epoch(model, tokenizer, train_rows, args.batch_size, 5e-5)
    model, _ = load_model_and_tokenizer(str(model_dir), "cpu", "float32")
    trainer = trainer_epoch(model, examples, tokenizer.eos_token_id, args.batch_size, 5e-5)
    setup, epochs = pipeline_epochs(model_dir, data, folder, args)
    return {
        "train_rows": len(train_rows),
        "tokens_per_epoch": tokens,
        "mean_tokens_per_exchange": tokens / len(examples),
        "original_epoch_s": original,
        "trainer_epoch_s": trainer,
        "pipeline_setup_s": setup,
        "pipeline_epoch_s": epochs,
    }


def report(results: dict, args) -> None:
    tokens, original = results["tokens_per_epoch"], results["original_epoch_s"]
    epochs = results["pipeline_epoch_s"]
    amortised = (results["pipeline_setup_s"] + sum(epochs)) / len(epochs)
    rows = [
        ("original: tied head + embeddings, pad to 300, loss on all", original),
        (
            "HF Trainer: untied head only, dynamic padding, reply loss (body every step)",
            results["trainer_epoch_s"],
        ),
        (
            f"training/: cached head, setup (load + hidden-state pass) shared by {len(epochs)} "
            "epochs",
            amortised,
        ),
        (
            f"training/: cached head, mean of {len(epochs)} epochs, setup excluded",
            sum(epochs) / len(epochs),
        ),
    ]
    lines = [
        f"# Training speed ({args.name})",
        "",
        f"CPU only (no GPU in this run): {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} torch threads; torch {torch.__version__}.",
        f"Model: GPT-2 shape, {args.layers} layers x {args.embd} wide, vocab 50261; "
        f"{results['train_rows']} training exchanges ({results['mean_tokens_per_exchange']:.1f} "
        f"tokens each on average), batch {args.batch_size}. tokens/s = real (unpadded) exchange "
        "tokens of one epoch / seconds per epoch.",
        "",
        "| recipe | s/epoch | tokens/s | speed-up vs original |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {label} | {seconds:.2f} | {tokens / seconds:,.0f} | {original / seconds:.1f}x |"
        for label, seconds in rows
    ]
    lines += [
        "",
        "Setup of training/ (model load, encoding, one hidden-state pass): "
        f"{results['pipeline_setup_s']:.2f} s; epochs: {', '.join(f'{s:.2f}' for s in epochs)} s "
        "(each includes validation and a checkpoint).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.md").write_text(text, encoding="utf-8")
    (RESULTS / f"{args.name}.json").write_text(
        json.dumps({**results, "args": vars(args)}, indent=1), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
