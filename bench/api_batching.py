"""Load benchmark of `tinktalker serve`: micro-batching on vs off (max batch 1), C concurrent
clients.

    python bench/api_batching.py [--seconds 30] [--rounds 3] [--clients 1 4 16] [--model FOLDER]

Builds a bench-size random GPT-2 (6 layers x 512, vocab 50261, 2048 positions) unless --model is
given, starts two servers (batching on with the shipped defaults, and max_batch_size 1), then for
each C runs closed-loop clients against one and then the other, alternating in rounds: each client
sends its next request when the previous reply arrives, for --seconds; replies still in flight are
awaited and counted. Decoding is the model card's (config.yml defaults). Prints a table and writes
bench/results/api_batching.{md,json}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from devkit.loopback_server import serve_process  # noqa: E402
from devkit.tiny_model import build_tiny_model  # noqa: E402

RESULTS = ROOT / "bench" / "results"
MESSAGES = [
    "привет, как дела?",
    "что думаешь о рынке?",
    "акции растут, покупать?",
    "дивиденды скоро",
]


async def load(
    url: str, clients: int, seconds: float, latencies: list[float]
) -> tuple[float, int, float, float]:
    """Closed-loop clients for `seconds`; appends each reply's latency; (elapsed, errors, batches,
    batched replies)."""
    errors = 0

    async def client(index: int, http: httpx.AsyncClient, stop_at: float) -> None:
        nonlocal errors
        turn = 0
        while time.monotonic() < stop_at:
            body = {
                "model": "tinktalker",
                "messages": [{"role": "user", "content": MESSAGES[(index + turn) % 4]}],
            }
            started = time.monotonic()
            response = await http.post("/v1/chat/completions", json=body)
            if response.status_code == 200:
                latencies.append(time.monotonic() - started)
            else:
                errors += 1
            turn += 1

    batches_before = await batch_totals(url)
    async with httpx.AsyncClient(
        base_url=url, timeout=600, limits=httpx.Limits(max_connections=clients)
    ) as http:
        started = time.monotonic()
        await asyncio.gather(*(client(i, http, started + seconds) for i in range(clients)))
        elapsed = time.monotonic() - started
    batches_after = await batch_totals(url)
    return (
        elapsed,
        errors,
        batches_after[0] - batches_before[0],
        batches_after[1] - batches_before[1],
    )


def measure(url: str, clients: int, seconds: float, rounds: int, mode: str, cells: dict) -> None:
    """One more round for this cell, added to what earlier rounds measured."""
    cell = cells.setdefault(
        (mode, clients),
        {"latencies": [], "elapsed": 0.0, "errors": 0, "batches": 0.0, "batched": 0.0},
    )
    elapsed, errors, batches, batched = asyncio.run(
        load(url, clients, seconds / rounds, cell["latencies"])
    )
    cell["elapsed"] += elapsed
    cell["errors"] += errors
    cell["batches"] += batches
    cell["batched"] += batched


def row(mode: str, clients: int, cell: dict) -> dict:
    latencies = cell["latencies"]
    return {
        "batching": mode,
        "clients": clients,
        "replies": len(latencies),
        "errors": cell["errors"],
        "seconds": round(cell["elapsed"], 2),
        "replies_per_s": len(latencies) / cell["elapsed"],
        "p50_s": statistics.median(latencies),
        "p95_s": _percentile(latencies, 95),
        "mean_batch": cell["batched"] / cell["batches"] if cell["batches"] else 0.0,
    }


async def batch_totals(url: str) -> tuple[float, float]:
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{url}/metrics")).text
    count = re.search(r"^tinktalker_batch_size_count (\S+)$", text, re.M)
    total = re.search(r"^tinktalker_batch_size_sum (\S+)$", text, re.M)
    return (float(count.group(1)) if count else 0.0, float(total.group(1)) if total else 0.0)


def _percentile(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


async def warm_up(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=600) as http:
        await http.post(
            "/v1/chat/completions",
            json={"model": "tinktalker", "messages": [{"role": "user", "content": "привет"}]},
        )


def run(model: Path, clients: list[int], seconds: float, rounds: int, threads: int) -> list[dict]:
    common = {
        "TINKTALKER__STORE__BACKEND": "memory",
        "TINKTALKER__MODEL__DEVICE": "cpu",
        "TINKTALKER__SERVER__REQUEST_TIMEOUT_S": "600",
        "OMP_NUM_THREADS": str(threads),
    }
    rows, cells = [], {}
    with (
        serve_process(model, common) as (on_url, _),
        serve_process(model, {**common, "TINKTALKER__BATCHING__MAX_BATCH_SIZE": "1"}) as (
            off_url,
            _,
        ),
    ):
        for url in (on_url, off_url):
            asyncio.run(warm_up(url))
        for (
            count
        ) in clients:  # on and off alternate in rounds, so drift in machine load hits both alike
            for _ in range(rounds):
                for mode, url in (("on", on_url), ("off", off_url)):
                    measure(url, count, seconds, rounds, mode, cells)
            for mode in ("on", "off"):
                rows.append(row(mode, count, cells[(mode, count)]))
                print(_line(rows[-1]), flush=True)
    return rows


def _line(row: dict) -> str:
    return (
        f"| {row['batching']:>3} | {row['clients']:>2} | {row['replies']:>4} | "
        f"{row['replies_per_s']:6.2f} | {row['p50_s']:6.2f} | {row['p95_s']:6.2f} | "
        f"{row['mean_batch']:5.2f} |"
    )


def summary(rows: list[dict]) -> list[str]:
    by = {(r["batching"], r["clients"]): r for r in rows}
    lines = []
    for count in sorted({r["clients"] for r in rows}):
        on, off = by[("on", count)], by[("off", count)]
        lines.append(
            f"C={count}: replies/s on/off = {on['replies_per_s'] / off['replies_per_s']:.2f}x, "
            f"p50 latency on/off = {on['p50_s'] / off['p50_s']:.2f}"
        )
    return lines


def write(rows: list[dict], args: argparse.Namespace, model_note: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    header = [
        "| batching | C | replies | replies/s | p50 s | p95 s | mean batch |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPU cores visible, no GPU, Python "
        f"{platform.python_version()}, {args.threads} torch thread(s) per server"
    )
    text = "\n".join(
        [
            "# Micro-batching benchmark (`bench/api_batching.py`)",
            "",
            f"- model: {model_note}; decoding: model card (sampling, 3 beams, top_k 10, 40 new "
            "tokens)",
            f"- machine: {machine}; load from other work on the machine is not controlled (see the "
            "notes under the table)",
            f"- each cell: closed-loop clients for {args.seconds} s in {args.rounds} rounds "
            "alternating on/off, against `tinktalker serve` (replies in flight at the end awaited "
            "and counted); batching on = shipped defaults (max_batch_size 8, max_wait_s 0.005), "
            "off = max_batch_size 1",
            "",
            *header,
            *(_line(r) for r in rows),
            "",
            *(f"- {line}" for line in summary(rows)),
            "",
        ]
    )
    (RESULTS / "api_batching.md").write_text(text, encoding="utf-8")
    (RESULTS / "api_batching.json").write_text(
        json.dumps(
            {
                "rows": rows,
                "seconds": args.seconds,
                "rounds": args.rounds,
                "threads": args.threads,
                "model": model_note,
                "machine": machine,
            },
            indent=1,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--rounds", type=int, default=3, help="on/off alternations per C (seconds are split)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads per server (OMP_NUM_THREADS); on a busy 2-core box 2 threads thrash",
    )
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument(
        "--model", type=Path, help="model folder (default: a bench-size random GPT-2)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        model = args.model or build_tiny_model(
            Path(scratch) / "bench-model",
            n_layer=6,
            n_embd=512,
            n_head=8,
            n_positions=2048,
            vocab_size=50261,
        )
        note = (
            str(args.model)
            if args.model
            else "random GPT-2, 6 layers x 512 hidden, 8 heads, vocab 50261, fp32, CPU"
        )
        print("| batching | C | replies | replies/s | p50 s | p95 s | mean batch |", flush=True)
        rows = run(model, args.clients, args.seconds, args.rounds, args.threads)
    print("\n".join(summary(rows)))
    write(rows, args, note)


if __name__ == "__main__":
    main()
