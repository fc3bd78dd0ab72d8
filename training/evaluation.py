"""What training changed, in numbers and in words: perplexity on held-out replies, and replies the
models write for held-out contexts (with the configured decoding, seeded), with their statistics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tinktalker.domain.dialogue import GenerationOptions, Reply
from tinktalker.domain.prompt_safety import clean_reply
from tinktalker.ports.reply_generator import ReplyGenerator
from tinktalker.training.engines import ModelEngine
from tinktalker.training.examples import ExampleEncoder
from tinktalker.training.exchanges import Exchange
from tinktalker.training.plan import TrainingPlan
from tinktalker.training.run import LoadModel, MakePrompt, model_positions


@dataclass(frozen=True)
class ReplyRules:
    """What the bot does to a reply before sending it: the same clean-up and fallback."""

    control_fragments: Sequence[str]
    fallback: str


def held_out_contexts(validation: Sequence[Exchange], count: int) -> list[Exchange]:
    """`count` held-out exchanges spread evenly over the validation part (all when fewer)."""
    if len(validation) <= count:
        return list(validation)
    step = len(validation) / count
    return [validation[int(i * step)] for i in range(count)]


async def replies_of(
    generator: ReplyGenerator, exchanges: Sequence[Exchange], seed: int
) -> list[Reply]:
    """One reply per context, each seeded on its own, so the base and the tuned model draw alike."""
    return [
        await generator.generate(e.messages(), GenerationOptions(seed=seed + i))
        for i, e in enumerate(exchanges)
    ]


def generation_stats(replies: Sequence[Reply], rules: ReplyRules) -> dict[str, float]:
    """Mean length in words, the share the bot would replace with its fallback, distinct-1/2
    (unique words and word pairs over all of them) and replies that still carried a marker."""
    sent = [clean_reply(r.text, rules.control_fragments, rules.fallback) for r in replies]
    words = [text.split() for text, r in zip(sent, replies, strict=True) if text != rules.fallback]
    unigrams = [w for reply in words for w in reply]
    bigrams = [pair for reply in words for pair in zip(reply, reply[1:], strict=False)]
    leaks = sum(any(f and f in r.text for f in rules.control_fragments) for r in replies)
    count = max(len(replies), 1)
    return {
        "replies": len(replies),
        "mean_words": round(len(unigrams) / max(len(words), 1), 2),
        "empty_or_fallback_rate": round(sum(t == rules.fallback for t in sent) / count, 3),
        "distinct_1": round(len(set(unigrams)) / max(len(unigrams), 1), 3),
        "distinct_2": round(len(set(bigrams)) / max(len(bigrams), 1), 3),
        "marker_leaks": leaks,
    }


def samples_of(
    exchanges: Sequence[Exchange], replies: dict[str, list[Reply]], rules: ReplyRules
) -> list[dict[str, object]]:
    """Per context: the context, the chat's real reply and what each model ("before", "after")
    answered, as the bot would send it."""
    return [
        {
            "context": list(e.context),
            "reference": e.reply,
            **{
                side: clean_reply(got[i].text, rules.control_fragments, rules.fallback)
                for side, got in replies.items()
            },
        }
        for i, e in enumerate(exchanges)
    ]


def perplexity_of(
    model_name: str,
    exchanges: Sequence[Exchange],
    plan: TrainingPlan,
    load_model: LoadModel,
    make_prompt: MakePrompt,
) -> float:
    """Perplexity of the model on the replies of `exchanges`, in the serving prompt (as training
    validates: the whole model, eval mode, reply tokens and eos scored)."""
    model, tokenizer = load_model(model_name, plan.device, "float32", plan.local_files_only)
    prompt = make_prompt(tokenizer, plan.first_marker, plan.second_marker, plan.pad_to_messages)
    encoder = ExampleEncoder(prompt, min(plan.max_length, model_positions(model)))
    examples = encoder.encode_all(exchanges, "reply")
    engine = ModelEngine(model, [], examples, encoder.eos_id, model.device, plan.batch_size)
    return math.exp(min(engine.evaluate(), 700.0))
