"""Which learning rate and epochs make head-only training visibly learn: validation perplexity
before and after `tinktalker train` (its defaults but those two) on the sample chat, demo's model.

    python -m bench.training_defaults   # a table; writes bench/results/training_defaults.{md,json}
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devkit.tiny_model import build_chat_shaped_model

RESULTS = Path(__file__).parent / "results"
SAMPLE_CHAT = Path(__file__).parent / "data" / "sample_chat.csv"
LEARNING_RATES = (5e-5, 1e-3, 3e-3, 1e-2, 3e-2)
EPOCHS = (3, 10)
_PERPLEXITY = re.compile(r"perplexity on replies: ([\d.]+) before, ([\d.]+) after (\d+) steps")


def train_once(base: Path, output: Path, learning_rate: float, epochs: int) -> dict:
    args = [sys.executable, "-m", "tinktalker.entrypoints.cli", "train", "--base", str(base)]
    args += ["--data", str(SAMPLE_CHAT), "--output", str(output), "--lr", str(learning_rate)]
    args += ["--epochs", str(epochs), "--no-progress"]
    started = time.perf_counter()
    said = subprocess.run(args, capture_output=True, text=True, check=True, timeout=600).stdout
    found = _PERPLEXITY.search(said)
    assert found, said
    before, after, steps = float(found[1]), float(found[2]), int(found[3])
    seconds = time.perf_counter() - started
    return {
        "learning_rate": learning_rate,
        "epochs": epochs,
        "steps": steps,
        "before": before,
        "after": after,
        "seconds": round(seconds, 1),
    }


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def main_bench() -> None:
    with tempfile.TemporaryDirectory() as work:
        base = build_chat_shaped_model(Path(work) / "base", SAMPLE_CHAT)
        rows = [
            train_once(base, Path(work) / f"out-{lr}-{epochs}", lr, epochs)
            for epochs in EPOCHS
            for lr in LEARNING_RATES
        ]
    header = (
        f"Head-only training (the defaults but --lr/--epochs) on {SAMPLE_CHAT.name} (120 rows, "
        f"last 6 validate), the demo's random 2 x 64 GPT-2 base; {cpu_name()}, shared, loaded"
    )
    lines = [header, "", "| lr | epochs | steps | perplexity before | after | seconds |"]
    lines.append("|---|---|---|---|---|---|")
    lines += [
        f"| {r['learning_rate']:g} | {r['epochs']} | {r['steps']} | {r['before']:.2f} | "
        f"{r['after']:.2f} | {r['seconds']} |"
        for r in rows
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "training_defaults.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (RESULTS / "training_defaults.json").write_text(
        json.dumps({"machine": cpu_name(), "rows": rows}, indent=1), encoding="utf-8"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main_bench()
