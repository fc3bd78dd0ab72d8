"""Time to the first visible text in a private chat: drafts (bot.stream_drafts) against the single
message, with a real `tinktalker bot` polling the Bot API stand-in on loopback.

    python bench/bot_drafts.py [--messages 4] [--model FOLDER]

Builds a ruDialoGPT-medium-shaped random GPT-2 (24 x 1024, vocab 50261) unless --model is given
(its tiny tokenizer decodes most sampled ids to nothing, so for drafts pass a 24 x 1024 model with
the tokenizer's own vocabulary, as the committed results did);
ctranslate2 int8, one-beam sampling, exactly 40 new tokens. For each message (drafts on and off in
turn, one bot process each), the seconds from the message reaching the stand-in to the first
sendMessageDraft and to the sendMessage. Writes bench/results/bot_drafts.{md,json}.
"""

from __future__ import annotations

import argparse
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

from devkit.bot_api_stand_in import BotApiStandIn  # noqa: E402
from devkit.bot_run import ALICE, TOKEN, private  # noqa: E402
from devkit.tiny_model import build_medium_shaped_model  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def one_message(api: BotApiStandIn, count: int) -> tuple[float, float | None]:
    """(seconds to the reply message, seconds to the first draft or None) for message `count`."""
    api.say(private(ALICE), ALICE, "что думаешь о рынке?")
    asked = time.monotonic()
    api.wait_for_texts(ALICE["id"], count, timeout=300)
    message = api.sent("sendMessage", ALICE["id"])[count - 1].at
    drafts = [c.at for c in api.sent("sendMessageDraft", ALICE["id"]) if c.at >= asked]
    return message - asked, (drafts[0] - asked if drafts else None)


def run_bot(model: Path, scratch: str, drafts: bool, messages: int) -> list[dict]:
    with BotApiStandIn(TOKEN) as api:
        env = {
            **os.environ,
            "TELEGRAM_TOKEN": TOKEN,
            "TINKTALKER_MODEL": str(model),
            "TINKTALKER__STORE__BACKEND": "memory",
            "TINKTALKER__MODEL__ENGINE": "ctranslate2",
            "TINKTALKER__MODEL__CACHE_DIR": os.environ.get(
                "TINKTALKER__MODEL__CACHE_DIR", f"{scratch}/cache"
            ),
            "TINKTALKER__BOT__API_BASE_URL": api.base_url,
            "TINKTALKER__BOT__POLLING_TIMEOUT_S": "1",
            "TINKTALKER__BOT__STREAM_DRAFTS": str(drafts).lower(),
            "TINKTALKER__DIALOGUE__CONTEXT_SIZE": "1",
            "TINKTALKER__GENERATION__NUM_BEAMS": "1",
            "TINKTALKER__GENERATION__MAX_NEW_TOKENS": "40",
            "TINKTALKER__GENERATION__MIN_NEW_TOKENS": "40",
        }
        command = [sys.executable, "-m", "tinktalker.entrypoints.cli", "bot"]
        process = subprocess.Popen(command, env=env, cwd=scratch, stderr=subprocess.DEVNULL)
        try:
            api.wait_for(lambda: api.sent("getUpdates"), 900, "the bot to poll")
            one_message(api, 1)  # warm-up
            rows = []
            for count in range(2, messages + 2):
                reply_s, draft_s = one_message(api, count)
                rows.append({"drafts": drafts, "reply_s": reply_s, "first_draft_s": draft_s})
                print(rows[-1], flush=True)
            return rows
        finally:
            process.terminate()
            process.wait(60)


def summary(rows: list[dict]) -> list[str]:
    on = [r for r in rows if r["drafts"]]
    off = [r for r in rows if not r["drafts"]]
    first = [r["first_draft_s"] for r in on if r["first_draft_s"] is not None]
    return [
        f"drafts on: first visible text (first draft) median {statistics.median(first):.2f} s, "
        f"max {max(first):.2f} s; the message at median "
        f"{statistics.median(r['reply_s'] for r in on):.2f} s",
        f"drafts off (before): first visible text = the message, median "
        f"{statistics.median(r['reply_s'] for r in off):.2f} s",
    ]


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=4, help="timed messages per setting")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--machine", default="", help="what to say about the CPU and its load")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        model = args.model or build_medium_shaped_model(Path(scratch) / "medium")
        rows = run_bot(model, scratch, True, args.messages)
        rows += run_bot(model, scratch, False, args.messages)
    machine = args.machine or f"{platform.machine()}, {os.cpu_count()} CPU cores, shared"
    lines = summary(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    table = [
        "| drafts | first draft s | message s |",
        "| --- | --- | --- |",
        *(f"| {r['drafts']} | {_seconds(r['first_draft_s'])} | {r['reply_s']:.2f} |" for r in rows),
    ]
    text = [
        "# Time to first visible text in a private chat (`bench/bot_drafts.py`)",
        "",
        "- model: random GPT-2 24 x 1024, vocab 50261; ctranslate2 int8, 1 beam, 40 new tokens",
        f"- machine: {machine}",
        "",
        *table,
        "",
        *(f"- {x}" for x in lines),
        "",
    ]
    (RESULTS / "bot_drafts.md").write_text("\n".join(text), encoding="utf-8")
    (RESULTS / "bot_drafts.json").write_text(json.dumps({"rows": rows, "machine": machine}))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
