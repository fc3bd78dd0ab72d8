"""`tinktalker serve` under 1, 8 and 32 closed-loop clients, batches of 8 (before issue 19) against
batches of 32 and batches in flight (batching.max_in_flight), and vLLM's CPU server when it is
installed: tokens/s, p50, p95.

    python bench/peers.py [--rounds 1] [--requests 1] [--clients 1,8,32] [--only TEXT]
                          [--model FOLDER] [--vllm PATH/TO/vllm] [--machine TEXT] [--output NAME]

Builds a ruDialoGPT-medium-shaped random GPT-2 (24 x 1024, vocab 50261, untied head) unless
--model is given; every reply is exactly 40 new tokens (generation.min_new_tokens =
max_new_tokens = 40), one message per request through /v1/chat/completions. Each round starts every
server in turn (one at a time: the box's memory is shared) and runs the three cells on it, so the
rows of a round are interleaved in time. `--vllm` names the `vllm` executable of its own venv
(README, "Throughput under load"); it serves the folder `tinktalker export` wrote, asked for
max_tokens = min_tokens = 40, its log in the scratch folder (printed if it fails to start).
`--only vLLM` runs the vLLM row alone. Writes bench/results/NAME.{md,json} (NAME: --output, peers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.vllm_server import SERVED_NAME, vllm_server  # noqa: E402
from devkit.loopback_server import serve_process  # noqa: E402
from devkit.tiny_model import build_medium_shaped_model  # noqa: E402

RESULTS = ROOT / "bench" / "results"
MESSAGE = "что думаешь о рынке?"
ONE_BEAM = {"TINKTALKER__GENERATION__NUM_BEAMS": "1"}
BEFORE = {  # main before issue 19: batches of 8, one at a time
    "TINKTALKER__BATCHING__MAX_BATCH_SIZE": "8",
    "TINKTALKER__BATCHING__MAX_IN_FLIGHT": "1",
}
BATCH_32 = {"TINKTALKER__BATCHING__MAX_BATCH_SIZE": "32"}
IN_FLIGHT = {"TINKTALKER__BATCHING__MAX_IN_FLIGHT": "0"}
INT8 = {"TINKTALKER__CONTINUOUS__MATRICES": "int8"}
# vLLM samples with generation_config.json's knobs (no beams, no no_repeat_ngram_size) and ends
# at EOS unless min_tokens; tinktalker serve gets the same 40 from its settings
VLLM_LABEL = "vLLM CPU bf16, 1 beam"
VLLM_BODY = {"max_tokens": 40, "min_tokens": 40}
SERVERS = {  # label: tinktalker serve's environment on top of the common one
    "ctranslate2 int8, beams (3), batches of 8 (before)": BEFORE,
    "ctranslate2 int8, beams (3), batches of 32": {**BEFORE, **BATCH_32},
    "ctranslate2 int8, 1 beam, batches of 8 (before)": {**BEFORE, **ONE_BEAM},
    "ctranslate2 int8, 1 beam, batches of 32": {**BEFORE, **BATCH_32, **ONE_BEAM},
    "ctranslate2 int8, 1 beam, batches of 32, 2 in flight": {
        **BEFORE,
        **BATCH_32,
        **ONE_BEAM,
        **IN_FLIGHT,
    },
    # model.engine continuous: requests join the running decode (KV cache at its defaults)
    "continuous bf16, beams (3)": {"TINKTALKER__MODEL__ENGINE": "continuous"},
    "continuous bf16, 1 beam": {"TINKTALKER__MODEL__ENGINE": "continuous", **ONE_BEAM},
    "continuous int8, beams (3)": {"TINKTALKER__MODEL__ENGINE": "continuous", **INT8},
    "continuous int8, 1 beam": {"TINKTALKER__MODEL__ENGINE": "continuous", **INT8, **ONE_BEAM},
}


async def closed_loop(url: str, body: dict, clients: int, requests: int) -> dict:
    latencies: list[float] = []
    tokens = 0

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal tokens
        for _ in range(requests):
            started = time.monotonic()
            response = await http.post("/v1/chat/completions", json=body)
            response.raise_for_status()
            latencies.append(time.monotonic() - started)
            tokens += response.json()["usage"]["completion_tokens"]

    async with httpx.AsyncClient(base_url=url, timeout=3600) as http:
        started = time.monotonic()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "clients": clients,
        "replies": len(latencies),
        "tokens_per_reply": tokens / len(latencies),
        "tokens_per_s": tokens / elapsed,
        "p50_s": statistics.median(latencies),
        "p95_s": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
    }


def run_cells(
    url: str, label: str, round_: int, requests: int, cells: tuple[int, ...], extra: dict
) -> list[dict]:
    body = {"model": SERVED_NAME, "messages": [{"role": "user", "content": MESSAGE}], **extra}
    asyncio.run(closed_loop(url, body, 1, 1))  # warm-up
    rows = []
    for clients in cells:
        row = {"server": label, "round": round_}
        row |= asyncio.run(closed_loop(url, body, clients, requests if clients > 1 else 3))
        print(line(row), flush=True)
        rows.append(row)
    return rows


def line(row: dict) -> str:
    return (
        f"| {row['server']} | {row['round']} | {row['clients']} | {row['replies']} | "
        f"{row['tokens_per_reply']:.0f} | {row['tokens_per_s']:.1f} | {row['p50_s']:.2f} | "
        f"{row['p95_s']:.2f} |"
    )


HEADER = [
    "| server | round | clients | replies | tokens / reply | tokens/s | p50 s | p95 s |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
]


def ratio_lines(rows: list[dict]) -> list[str]:
    """Per server and cell: the median over rounds of its tokens/s and p95 over the same beams'
    "before" row of the same round, and for one beam over vLLM's row of the same round."""
    out = []
    for row in rows:
        if "(before)" in row["server"] or row["server"].startswith("vLLM") or row["round"] != 1:
            continue
        beams = row["server"].split(", ")[1]
        for base in [f"ctranslate2 int8, {beams}, batches of 8 (before)", VLLM_LABEL]:
            if base == VLLM_LABEL and beams != "1 beam":
                continue
            ratio = _ratio(rows, row, base)
            if ratio:
                out.append(
                    f"{row['server']}, {row['clients']} client(s): {ratio[0]:.2f}x the tokens/s "
                    f"of {base}, p95 {ratio[1]:.2f}x"
                )
    return out


def _ratio(rows: list[dict], row: dict, base: str) -> tuple[float, float] | None:
    pairs = [
        (new, old)
        for new in rows
        for old in rows
        if new["server"] == row["server"]
        and old["server"] == base
        and new["round"] == old["round"]
        and new["clients"] == old["clients"] == row["clients"]
    ]
    if not pairs:
        return None
    speed = statistics.median(n["tokens_per_s"] / o["tokens_per_s"] for n, o in pairs)
    return speed, statistics.median(n["p95_s"] / o["p95_s"] for n, o in pairs)


def write(rows: list[dict], machine: str, requests: int, name: str) -> None:
    text = "\n".join(
        [
            "# `tinktalker serve` under load, and its peers (`bench/peers.py`)",
            "",
            "- model: random GPT-2 24 layers x 1024, 16 heads, vocab 50261, untied head",
            f"- machine: {machine}",
            "- decoding: model card unless '1 beam' (then one-beam sampling, the card's other"
            " knobs; vLLM: the knobs of generation_config.json but no_repeat_ngram_size);"
            " exactly 40 new tokens; closed-loop clients, 1 client sends 3 requests, "
            f"8 and 32 clients {requests} each; rows of one round run one after another",
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
    (RESULTS / f"{name}.json").write_text(json.dumps({"rows": rows, "machine": machine}, indent=1))
    print("\n".join(ratio_lines(rows)))


def serve_env(cache_dir: Path) -> dict[str, str]:
    """`tinktalker serve`'s environment common to every row: exactly 40 new tokens a reply."""
    return {
        "TINKTALKER__STORE__BACKEND": "memory",
        "TINKTALKER__MODEL__DEVICE": "cpu",
        "TINKTALKER__MODEL__ENGINE": "ctranslate2",
        "TINKTALKER__MODEL__CACHE_DIR": str(cache_dir),
        "TINKTALKER__GENERATION__MIN_NEW_TOKENS": "40",
        "TINKTALKER__GENERATION__MAX_NEW_TOKENS": "40",
        "TINKTALKER__SERVER__REQUEST_TIMEOUT_S": "3600",
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--requests", type=int, default=1, help="per client at 8 and 32 clients")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--vllm", type=Path, help="the vllm executable of its own venv")
    parser.add_argument("--machine", default="", help="what to say about the CPU and its load")
    parser.add_argument(
        "--only",
        help="run only the servers whose label contains one of these ('|' between), e.g. vLLM",
    )
    parser.add_argument("--clients", default="1,8,32", help="the cells, e.g. 32 or 1,8,32")
    parser.add_argument("--cache-dir", type=Path, help="keep ctranslate2's conversion here")
    parser.add_argument("--output", default="peers", help="writes bench/results/OUTPUT.{md,json}")
    args = parser.parse_args()
    if args.vllm and not (args.vllm.parent / "python").is_file():
        parser.error(f"--vllm {args.vllm}: no python beside it; name the vllm of its own venv")
    return args


def main() -> None:
    args = parse_args()
    cells = tuple(int(c) for c in args.clients.split(","))
    wanted = args.only.split("|") if args.only else []
    servers = {k: v for k, v in SERVERS.items() if not wanted or any(w in k for w in wanted)}
    with_vllm = bool(args.vllm) and (not wanted or any(w in VLLM_LABEL for w in wanted))
    print("\n".join(HEADER), flush=True)
    rows: list[dict] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        model = args.model or build_medium_shaped_model(Path(scratch) / "medium")
        env = serve_env(args.cache_dir or Path(scratch) / "cache")
        exported = Path(scratch) / "exported"
        if with_vllm:
            export = [sys.executable, "-m", "tinktalker.entrypoints.cli", "export"]
            subprocess.run([*export, "--model", str(model), "--output", str(exported)], check=True)
        for round_ in range(1, args.rounds + 1):
            for label, extra in servers.items():
                with serve_process(model, {**env, **extra}, ready_timeout_s=900) as (url, _):
                    rows += run_cells(url, label, round_, args.requests, cells, {})
            if with_vllm:
                log = Path(scratch) / f"vllm-{round_}.log"
                try:
                    with vllm_server(args.vllm, exported, log) as url:
                        rows += run_cells(url, VLLM_LABEL, round_, args.requests, cells, VLLM_BODY)
                except RuntimeError as error:  # the other rows are still written
                    print(error, file=sys.stderr, flush=True)
                    failures.append(f"vLLM, round {round_}: {str(error).splitlines()[0]}")
    machine = args.machine or (
        f"{platform.machine()}, {os.cpu_count()} CPU cores visible, shared with other work"
    )
    write(rows, machine, args.requests, args.output)
    if failures:
        sys.exit("\n".join(failures))


if __name__ == "__main__":
    main()
