"""Each engine behind a real `tinktalker serve`: tokens/s at 1 and 8 clients, and how full the
batches get.

    python bench/api_engines.py [--rounds 2] [--fill ROUNDS] [--threads 2] [--model FOLDER]

Builds a ruDialoGPT-medium-shaped random GPT-2 (24 x 1024, vocab 50261, untied head) unless --model
is given. For torch fp32 and ctranslate2 int8 in turn (one server at a time: the box's memory is
shared), starts `tinktalker serve` with model-card decoding and exactly 40 new tokens
(generation.min_new_tokens = max_new_tokens = 40), then runs closed-loop clients: 1 client, and 8
clients with one request each, for tokens/s; ctranslate2's 1-client latency is also measured with
batching.refill_wait_s 0 (the batching policy before it). Writes
bench/results/api_engines.{md,json}. With --fill ROUNDS: 4 and 8 clients where client 0 starts half
a second before the others, which sets the trap of issue 12 (one request running alone while the
rest queue behind it), with refill_wait_s 0.05 and 0; mean batch comes from the server's /metrics.
Writes bench/results/api_batch_fill.{md,json}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.api_batching import batch_totals  # noqa: E402
from devkit.loopback_server import serve_process  # noqa: E402
from devkit.tiny_model import build_medium_shaped_model  # noqa: E402

RESULTS = ROOT / "bench" / "results"
# One message for every request: equally long prompts, so every reply is exactly 40 tokens on both
# engines (in a CTranslate2 batch, a longer prompt's extra tokens count toward min_new_tokens;
# README)
MESSAGE = "что думаешь о рынке?"


async def closed_loop(url: str, clients: int, rounds: int, stagger: bool) -> dict:
    latencies, tokens = [], 0

    async def client(index: int, http: httpx.AsyncClient) -> None:
        nonlocal tokens
        await asyncio.sleep(0.5 if index and stagger else 0.0)
        for _ in range(rounds):
            body = {"model": "tinktalker", "messages": [{"role": "user", "content": MESSAGE}]}
            started = time.monotonic()
            response = await http.post("/v1/chat/completions", json=body)
            response.raise_for_status()
            latencies.append(time.monotonic() - started)
            tokens += response.json()["usage"]["completion_tokens"]

    before = await batch_totals(url)
    async with httpx.AsyncClient(base_url=url, timeout=3600) as http:
        started = time.monotonic()
        await asyncio.gather(*(client(i, http) for i in range(clients)))
        elapsed = time.monotonic() - started
    after = await batch_totals(url)
    batches, replies = after[0] - before[0], after[1] - before[1]
    return {
        "clients": clients,
        "staggered": stagger,
        "replies": len(latencies),
        "seconds": round(elapsed, 2),
        "tokens_per_reply": tokens / len(latencies),
        "tokens_per_s": tokens / elapsed,
        "replies_per_s": len(latencies) / elapsed,
        "p50_s": statistics.median(latencies),
        "mean_batch": replies / batches if batches else 0.0,
    }


def measure(
    model: Path, engine: str, env: dict, plan: list[tuple[int, int, bool]], label: str
) -> list[dict]:
    rows = []
    with serve_process(
        model, {**env, "TINKTALKER__MODEL__ENGINE": engine}, ready_timeout_s=900
    ) as (url, _):
        asyncio.run(closed_loop(url, 1, 1, False))  # warm-up
        for clients, rounds, stagger in plan:
            row = {"engine": label, **asyncio.run(closed_loop(url, clients, rounds, stagger))}
            rows.append(row)
            print(line(row), flush=True)
    return rows


def line(row: dict) -> str:
    return (
        f"| {row['engine']} | {row['clients']}{' (staggered)' if row['staggered'] else ''} | "
        f"{row['replies']} | {row['seconds']:.1f} | {row['p50_s']:.2f} | "
        f"{row['tokens_per_reply']:.0f} | {row['tokens_per_s']:.2f} | {row['mean_batch']:.2f} |"
    )


def ratio_lines(rows: list[dict]) -> list[str]:
    by = {(r["engine"], r["clients"]): r for r in rows if not r["staggered"]}
    out = []
    for clients in (1, 8):
        torch, ct2 = by.get(("torch float32", clients)), by.get(("ctranslate2 int8", clients))
        if torch and ct2:
            out.append(
                f"{clients} client(s): ctranslate2 int8 = "
                f"{ct2['tokens_per_s'] / torch['tokens_per_s']:.2f}x torch float32 tokens/s"
            )
    off, on = by.get(("ctranslate2 int8, refill_wait_s 0", 1)), by.get(("ctranslate2 int8", 1))
    if off and on:  # one client in a closed loop: seconds / replies is its mean latency
        ratio = (on["seconds"] / on["replies"]) / (off["seconds"] / off["replies"])
        out.append(f"1 client: mean latency with refill_wait_s 0.05 / with 0 = {ratio:.3f}")
    return out


HEADER = [
    "| engine | clients | replies | seconds | p50 s | tokens / reply | tokens/s | mean batch |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
]
REFILL_OFF = {"TINKTALKER__BATCHING__REFILL_WAIT_S": "0"}


def throughput(model: Path, env: dict, r: int) -> tuple[list[dict], str]:
    rows = measure(
        model, "ctranslate2", env, [(1, r + 1, False), (8, 1, False)], "ctranslate2 int8"
    )
    rows += measure(
        model,
        "ctranslate2",
        {**env, **REFILL_OFF},
        [(1, r + 1, False)],
        "ctranslate2 int8, refill_wait_s 0",
    )
    rows += measure(model, "torch", env, [(1, r, False), (8, 1, False)], "torch float32")
    return rows, (
        f"1 client sends {r + 1} (ctranslate2) or {r} (torch) requests; 8 clients send one request "
        "each, all at once"
    )


def batch_fill(model: Path, env: dict, rounds: int) -> tuple[list[dict], str]:
    cells = [(4, rounds, True), (8, rounds, True)]
    rows = measure(model, "ctranslate2", env, cells, "ctranslate2 int8")
    rows += measure(
        model, "ctranslate2", {**env, **REFILL_OFF}, cells, "ctranslate2 int8, refill_wait_s 0"
    )
    return rows, (
        f"each client sends {rounds} requests; client 0 starts 0.5 s before the rest, so its first "
        "request runs alone while the others queue (the trap of issue 12); the first (lone) and "
        "last batch of a cell pull its mean below N even when every batch between is full"
    )


def write(name: str, title: str, rows: list[dict], cells: str, machine: str) -> None:
    text = "\n".join(
        [
            f"# {title} (`bench/api_engines.py`)",
            "",
            "- model: random GPT-2 24 layers x 1024, 16 heads, vocab 50261, untied head",
            f"- machine: {machine}",
            f"- decoding: model card, exactly 40 new tokens; closed-loop clients: {cells}",
            "",
            *HEADER,
            *(line(row) for row in rows),
            "",
            *(f"- {x}" for x in ratio_lines(rows)),
            "",
        ]
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.md").write_text(text, encoding="utf-8")
    (RESULTS / f"{name}.json").write_text(
        json.dumps({"rows": rows, "machine": machine, "cells": cells}, indent=1)
    )
    print("\n".join(ratio_lines(rows)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="requests per client in the throughput cells"
    )
    parser.add_argument(
        "--fill",
        type=int,
        metavar="ROUNDS",
        help="instead: batch fill at 4 and 8 staggered clients, ROUNDS requests each, with "
        "batching.refill_wait_s 0.05 and 0 (writes api_batch_fill.*)",
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--model", type=Path)
    args = parser.parse_args()
    print("\n".join(HEADER), flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        model = args.model or build_medium_shaped_model(Path(scratch) / "medium")
        env = {
            "TINKTALKER__STORE__BACKEND": "memory",
            "TINKTALKER__MODEL__DEVICE": "cpu",
            "TINKTALKER__MODEL__THREADS": str(args.threads),
            "TINKTALKER__MODEL__CACHE_DIR": f"{scratch}/cache",
            "TINKTALKER__GENERATION__MIN_NEW_TOKENS": "40",
            "TINKTALKER__GENERATION__MAX_NEW_TOKENS": "40",
            "TINKTALKER__SERVER__REQUEST_TIMEOUT_S": "3600",
            "TINKTALKER__DIALOGUE__REPLY_TIMEOUT_S": "3600",
        }
        rows, cells = (
            batch_fill(model, env, args.fill) if args.fill else throughput(model, env, args.rounds)
        )
    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPU cores visible (shared with other work), no "
        f"GPU, Python {platform.python_version()}, model.threads {args.threads}"
    )
    if args.fill:
        write("api_batch_fill", "Batch fill behind `tinktalker serve`", rows, cells, machine)
    else:
        write("api_engines", "Engines behind `tinktalker serve`", rows, cells, machine)


if __name__ == "__main__":
    main()
