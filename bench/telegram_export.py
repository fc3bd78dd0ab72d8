"""Reading a big Telegram Desktop export: seconds and peak memory of `tinktalker dataset`.

Writes a generated export (one chat, realistic fields: entities, reply links, service messages,
stickers; about 400 bytes a message), then runs `tinktalker dataset` on it in a child process and
reads the child's peak resident memory. Several sizes show whether memory grows with the file.

    python -m bench.telegram_export                  # 100,000 and 1,000,000 messages
    python -m bench.telegram_export --sizes 20000    # a quick look
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
WORDS = (
    "акции облигации ставка ЦБ дивиденды отсечка рынок индекс Мосбиржи купил продал держу "
    "фонд купон доходность рубль юань нефть золото портфель риск просадка отчёт прибыль"
).split()


def write_export(path: Path, count: int, seed: int = 0) -> None:
    """A one-chat export of `count` messages, written as it is generated (never held whole)."""
    rng = random.Random(seed)
    clock = 1_788_000_000.0
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('{\n "name": "bench",\n "type": "private_supergroup",\n "id": 1,\n')
        handle.write(' "messages": [\n')
        for number in range(1, count + 1):
            clock += rng.expovariate(1 / 240)  # a message every 4 minutes on average
            entry = _message(rng, number, clock)
            tail = ",\n" if number < count else "\n"
            handle.write("  " + json.dumps(entry, ensure_ascii=False) + tail)
        handle.write(" ]\n}\n")


def _message(rng: random.Random, number: int, clock: float) -> dict:
    base = {"id": number, "date": "2026-09-01T10:00:00", "date_unixtime": str(int(clock))}
    roll = rng.random()
    if roll < 0.04:
        return {
            **base,
            "type": "service",
            "actor": "Анна",
            "actor_id": "user1",
            "action": "pin_message",
            "text": "",
        }  # noqa: E501
    person = rng.randrange(12)
    entry = {**base, "type": "message", "from": f"Человек {person}", "from_id": f"user{person}"}
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 18)))
    if roll < 0.08:
        entry.update(media_type="sticker", sticker_emoji="👍", text="", text_entities=[])
        return entry
    if roll < 0.15:
        entry["text"] = [text + " ", {"type": "link", "text": "https://www.moex.com/"}]
    else:
        entry["text"] = text
    entry["text_entities"] = [{"type": "plain", "text": text}]
    if rng.random() < 0.3 and number > 1:
        entry["reply_to_message_id"] = max(1, number - rng.randint(1, 20))
    return entry


def measure(export: Path, output: Path) -> dict:
    command = [sys.executable, "-m", "tinktalker.entrypoints.cli", "dataset"]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--data", str(export), "--output", str(output)],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "printed": done.stdout.strip().splitlines(),
    }


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in sorted(args.sizes):  # ascending: RUSAGE_CHILDREN keeps the largest child's peak
            export = Path(folder) / f"export-{size}.json"
            started = time.perf_counter()
            write_export(export, size)
            generated = time.perf_counter() - started
            result = measure(export, Path(folder) / "examples.jsonl")
            rows.append(
                {
                    "messages": size,
                    "file_mib": round(export.stat().st_size / 2**20, 1),
                    "generate_s": round(generated, 1),
                    **result,
                }
            )
            print(rows[-1], flush=True)
            export.unlink()
    report(rows)


def report(rows: list[dict]) -> None:
    machine = f"{cpu_name()}, {__import__('os').cpu_count()} cores, shared with other work"
    lines = [
        "# Reading a Telegram export (`tinktalker dataset`)",
        "",
        f"Machine: {machine} (2-core Xeon with AVX-512 VNNI/BF16/AMX); Python {platform.python_version()}.",  # noqa: E501
        "One generated chat; the time is the whole command (start-up, streaming parse, writing JSON Lines).",  # noqa: E501
        "",
        "| messages | file (MiB) | seconds | messages/s | peak RSS (MiB) | examples |",
        "| ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        examples = row["printed"][-1].split(" examples")[0] if row["printed"] else "?"
        rate = round(row["messages"] / row["seconds"])
        lines.append(
            f"| {row['messages']:,} | {row['file_mib']} | {row['seconds']} | {rate:,} | "
            f"{row['peak_rss_mib']} | {examples} |"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "telegram_export.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (RESULTS / "telegram_export.json").write_text(
        json.dumps({"machine": machine, "rows": rows}, ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
