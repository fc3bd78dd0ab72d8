"""What CTranslate2's decoding changes against Hugging Face's, on a model `tinktalker train` really
trained.

    python bench/decoding_differences.py [--samples 40]

Trains the tiny test GPT-2 head-only on the synthetic question -> answer chat of the tests (3
epochs; peaked but not perfect distributions), then asks each of its 6 questions with both engines
in fp32: greedy with the model-card penalties, and model-card decoding (3 beams, sampling,
penalties)
--samples times. Counts how often the reply is the learned answer, how often a reply repeats a token
of its prompt, mean reply length and distinct replies. Writes
bench/results/decoding_differences.{md,json}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devkit import schema_defaults as defaults  # noqa: E402
from devkit.dialogue_csv import PAIRS, write_dialogue_csv  # noqa: E402
from devkit.tiny_model import build_tiny_model  # noqa: E402
from tinktalker.adapters.model.ctranslate2_reply_generator import open_ctranslate2_reply_generator  # noqa: E402
from tinktalker.adapters.model.loading import load_model_and_tokenizer  # noqa: E402
from tinktalker.adapters.model.rudialogpt_prompt import RuDialoGptPrompt  # noqa: E402
from tinktalker.adapters.model.torch_reply_generator import open_torch_reply_generator  # noqa: E402
from tinktalker.domain.dialogue import GenerationOptions, Message, Speaker  # noqa: E402
from tinktalker.training.run import run_training  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def trained_model(scratch: Path) -> Path:
    plan = defaults.training_plan(
        write_dialogue_csv(scratch / "chat.csv", rows=120),
        build_tiny_model(scratch / "base"),
        scratch / "out",
        epochs=3,
        pad_to_messages=1,  # the prompt shape this bench serves
        batch_size=8,
        learning_rate=1e-2,
        validation_fraction=0.1,
        checkpoint_every=0,
        device="cpu",
    )
    return run_training(
        plan, load_model_and_tokenizer, RuDialoGptPrompt.for_markers, progress_bars=False
    ).output


def score(generator, samples: int) -> dict:
    greedy_right, sampled = 0, []
    for question, answer in PAIRS:
        context = [Message(Speaker.USER, question)]
        greedy = asyncio.run(
            generator.generate(context, GenerationOptions(do_sample=False, num_beams=1))
        )
        greedy_right += greedy.text == answer
        prompt_words = set(question.split())
        for _ in range(samples):
            reply = asyncio.run(generator.generate(context))
            sampled.append((reply, answer, bool(prompt_words & set(reply.text.split()))))
    total = len(sampled)
    return {
        "greedy_learned_answers": f"{greedy_right}/{len(PAIRS)}",
        "sampled_learned_answer": sum(r.text == a for r, a, _ in sampled) / total,
        "sampled_repeats_a_prompt_word": sum(rep for _, _, rep in sampled) / total,
        "sampled_mean_tokens": sum(r.completion_tokens for r, _, _ in sampled) / total,
        "sampled_distinct_replies": len({r.text for r, _, _ in sampled}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--samples", type=int, default=40, help="model-card replies per question and engine"
    )
    args = parser.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as scratch:
        model = trained_model(Path(scratch))
        common = {
            "device": "cpu",
            "decoding": defaults.decoding_values(max_new_tokens=12),
            "markers": defaults.markers(),
            "pad_to_messages": 1,
        }
        for name, resource in (
            ("torch", open_torch_reply_generator(str(model), dtype="float32", **common)),
            (
                "ctranslate2",
                open_ctranslate2_reply_generator(
                    str(model), quantization="float32", cache_dir=f"{scratch}/cache", **common
                ),
            ),
        ):
            generator = next(resource)
            try:
                rows[name] = score(generator, args.samples)
            finally:
                resource.close()
            print(name, rows[name], flush=True)
    keys = list(rows["torch"])
    text = "\n".join(
        [
            "# Decoding differences, torch vs CTranslate2 (`bench/decoding_differences.py`)",
            "",
            "- model: the tests' tiny GPT-2 (2 layers x 32), head-only trained by the real "
            "pipeline on 120 rows of 6 question -> answer pairs, 3 epochs; both engines fp32",
            "- each of the 6 questions asked once greedily (model-card penalties) and "
            f"{args.samples} times with model-card decoding (3 beams, sampling top-k 10 / top-p "
            "0.95 / temperature 1.2, no_repeat_ngram 2, repetition penalty 1.2), 12 new tokens at "
            "most",
            "",
            "| figure | torch | ctranslate2 |",
            "| --- | --- | --- |",
            *(f"| {k} | {rows['torch'][k]} | {rows['ctranslate2'][k]} |" for k in keys),
            "",
        ]
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "decoding_differences.md").write_text(text, encoding="utf-8")
    (RESULTS / "decoding_differences.json").write_text(
        json.dumps({"rows": rows, "samples": args.samples}, indent=1)
    )


if __name__ == "__main__":
    main()
