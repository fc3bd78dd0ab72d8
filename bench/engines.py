"""In-process engine benchmark: torch fp32 / bf16 vs CTranslate2 fp32 / int8, batch 1 and 8, one
run.

    python bench/engines.py [--reps 2] [--threads 2] [--model FOLDER]

Builds a ruDialoGPT-medium-shaped random GPT-2 (24 layers x 1024, 16 heads, vocab 50261, untied
head) unless --model is given, loads it into all four engines through the project's own resources
(the same code `serve`, `chat` and `bot` use) and times `generate_batch` in turns with model-card
decoding (3 beams, sampling top-k 10 / top-p 0.95 / temperature 1.2, no_repeat_ngram 2, repetition
penalty 1.2) and exactly 40 new tokens: generation.min_new_tokens = max_new_tokens = 40 keeps every
stop id out (HF: min_new_tokens suppresses the eos ids; CTranslate2: min_length does the same for
end_token). Writes bench/results/engines.{md,json}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devkit import schema_defaults as defaults  # noqa: E402
from devkit.tiny_model import build_medium_shaped_model  # noqa: E402
from tinktalker.domain.dialogue import Message, Speaker  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TOKENS = 40
CONTEXT = [
    Message(Speaker.USER, "привет как дела"),
    Message(Speaker.BOT, "спасибо"),
    Message(Speaker.USER, "что думаешь о рынке"),
]
ENGINES = [
    ("torch", "float32"),
    ("torch", "bfloat16"),
    ("ctranslate2", "float32"),
    ("ctranslate2", "int8"),
]


def open_engine(engine: str, precision: str, model: Path, threads: int, cache: Path):
    decoding = defaults.decoding_values(max_new_tokens=TOKENS, min_new_tokens=TOKENS)
    markers = defaults.markers()
    if engine == "torch":
        from tinktalker.adapters.model.torch_reply_generator import open_torch_reply_generator

        return open_torch_reply_generator(
            str(model),
            device="cpu",
            dtype=precision,
            decoding=decoding,
            markers=markers,
            pad_to_messages=3,
            threads=threads,
        )
    from tinktalker.adapters.model.ctranslate2_reply_generator import (
        open_ctranslate2_reply_generator,
    )

    return open_ctranslate2_reply_generator(
        str(model),
        device="cpu",
        quantization=precision,
        threads=threads,
        cache_dir=str(cache),
        decoding=decoding,
        markers=markers,
        pad_to_messages=3,
    )


def time_engines(model: Path, args, cache: Path) -> list[dict]:
    """All four loaded at once (about 4 GB), then timed in turns, so drift in the machine's load
    hits each alike."""
    resources, generators, load_s = [], {}, {}
    try:
        for engine, precision in ENGINES:
            started = time.monotonic()
            resources.append(open_engine(engine, precision, model, args.threads, cache))
            generators[(engine, precision)] = next(resources[-1])
            load_s[(engine, precision)] = time.monotonic() - started
            asyncio.run(generators[(engine, precision)].generate_batch([CONTEXT]))  # warm-up
        seconds = {(key, batch): [] for key in generators for batch in (1, 8)}
        tokens = dict.fromkeys(seconds, 0)
        for _ in range(args.reps):
            for batch in (1, 8):
                for key, generator in generators.items():
                    started = time.monotonic()
                    replies = asyncio.run(generator.generate_batch([CONTEXT] * batch))
                    seconds[(key, batch)].append(time.monotonic() - started)
                    tokens[(key, batch)] += sum(r.completion_tokens for r in replies)
    finally:
        for resource in resources:
            resource.close()
    rows = [
        {
            "engine": key[0],
            "precision": key[1],
            "batch": batch,
            "load_s": round(load_s[key], 1),
            "s_per_call": min(times),
            "mean_s_per_call": sum(times) / len(times),
            "tokens_per_reply": tokens[(key, batch)] / (batch * len(times)),
            "tokens_per_s": tokens[(key, batch)] / sum(times),
        }
        for (key, batch), times in seconds.items()
    ]
    for row in rows:
        print(line(row), flush=True)
    return rows


def line(row: dict) -> str:
    return (
        f"| {row['engine']:>11} | {row['precision']:>8} | {row['batch']} | "
        f"{row['mean_s_per_call']:7.2f} | {row['s_per_call']:7.2f} | "
        f"{row['tokens_per_reply']:4.0f} | {row['tokens_per_s']:6.1f} | {row['load_s']:5.1f} |"
    )


def ratios(rows: list[dict]) -> list[str]:
    by = {(r["engine"], r["precision"], r["batch"]): r for r in rows}
    out = []
    for batch in (1, 8):
        base = by.get(("torch", "float32", batch))
        for key in [k for k in by if k[2] == batch and k[:2] != ("torch", "float32")]:
            if base:
                out.append(
                    f"batch {batch}: {key[0]} {key[1]} = "
                    f"{by[key]['tokens_per_s'] / base['tokens_per_s']:.2f}x torch float32 tokens/s"
                )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=2, help="timed calls per engine and batch size")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--model", type=Path, help="model folder (default: a medium-shaped random GPT-2)"
    )
    args = parser.parse_args()
    header = [
        "| engine | precision | batch | mean s / call | best s / call | tokens / reply | tokens/s "
        "| load s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    print("\n".join(header), flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        model = args.model or build_medium_shaped_model(Path(scratch) / "medium")
        rows = time_engines(model, args, Path(scratch) / "cache")
    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPU cores visible (shared with other work), no "
        f"GPU, Python {platform.python_version()}, {args.threads} thread(s)"
    )
    note = (
        str(args.model)
        if args.model
        else "random GPT-2 24 layers x 1024, 16 heads, vocab 50261, untied head"
    )
    text = "\n".join(
        [
            "# Engine benchmark (`bench/engines.py`)",
            "",
            f"- model: {note}",
            f"- machine: {machine}",
            f"- decoding: model card, exactly {TOKENS} new tokens (min_new_tokens = "
            f"max_new_tokens); {args.reps} timed call(s) per cell after one warm-up reply, the "
            "four engines loaded together and timed in turns (batch 1 of each, then batch 8 of "
            "each, per round); tokens/s = generated tokens of all replies / seconds",
            "",
            *header,
            *(line(r) for r in rows),
            "",
            *(f"- {r}" for r in ratios(rows)),
            "",
        ]
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "engines.md").write_text(text, encoding="utf-8")
    (RESULTS / "engines.json").write_text(
        json.dumps({"rows": rows, "machine": machine, "model": note, "reps": args.reps}, indent=1)
    )
    print("\n".join(ratios(rows)))


if __name__ == "__main__":
    main()
