"""How many chats the bot serves at once: N private chats each send one message at the same moment.

    python bench/bot_concurrency.py [--chats 1 10 50] [--reply-seconds 1.0]

The real bot (python-telegram-bot, rate limiter, SQLite history) polls the loopback Bot API
stand-in; the generator is a fake that takes --reply-seconds per reply without using the CPU (as the
`http` backend waiting on a server with spare capacity would). Runs each N with the shipped
max_concurrent_updates and with 1 (one update at a time, as the original bot), and reports the time
until the last reply landed and the ratio. Prints a table and writes
bench/results/bot_concurrency.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devkit.bot_api_stand_in import BotApiStandIn  # noqa: E402
from devkit.bot_fakes import EchoContextGenerator  # noqa: E402
from devkit.bot_run import TOKEN, BotRun, bot_settings  # noqa: E402
from tinktalker.entrypoints.settings import BotSettings  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def one_run(chats: int, reply_s: float, concurrent: int, db: Path) -> dict:
    with BotApiStandIn(TOKEN) as api:
        settings = bot_settings(
            api,
            db,
            max_concurrent_updates=concurrent,
            typing_interval_s=4.0,
            dialogue={"reply_timeout_s": 600},
        )
        with BotRun(api, settings, EchoContextGenerator(slow_s=reply_s)):
            users = [{"id": 5000 + n, "is_bot": False, "first_name": f"u{n}"} for n in range(chats)]
            start = time.monotonic()
            for u in users:
                api.say(
                    {"id": u["id"], "type": "private", "first_name": u["first_name"]},
                    u,
                    "slow hello",
                )
            api.wait_for(
                lambda: len(api.sent("sendMessage")) >= chats,
                timeout=chats * reply_s + 60,
                what="every reply",
            )
            latencies = sorted(c.at - start for c in api.sent("sendMessage"))
    return {
        "chats": chats,
        "max_concurrent_updates": concurrent,
        "last_reply_s": round(latencies[-1], 3),
        "median_reply_s": round(statistics.median(latencies), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--reply-seconds", type=float, default=1.0)
    args = parser.parse_args()
    shipped = BotSettings().max_concurrent_updates
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for chats in args.chats:
            pair = [
                one_run(chats, args.reply_seconds, c, Path(folder) / f"{chats}-{c}.sqlite3")
                for c in (shipped, 1)
            ]
            pair[0]["speedup_vs_one_at_a_time"] = round(
                pair[1]["last_reply_s"] / pair[0]["last_reply_s"], 1
            )
            rows.extend(pair)
    header = (
        "| chats | max_concurrent_updates | median reply (s) | last reply (s) | speed-up |\n"
        "|---|---|---|---|---|\n"
    )
    table = header + "".join(
        f"| {r['chats']} | {r['max_concurrent_updates']} | {r['median_reply_s']} | "
        f"{r['last_reply_s']} | {r.get('speedup_vs_one_at_a_time', '')} |\n"
        for r in rows
    )
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    machine = (
        f"{platform.machine()}, {platform.python_version()}, reply takes {args.reply_seconds} s"
    )
    (RESULTS / "bot_concurrency.md").write_text(
        f"# bot concurrency ({machine})\n\n{table}", encoding="utf-8"
    )
    (RESULTS / "bot_concurrency.json").write_text(
        json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
