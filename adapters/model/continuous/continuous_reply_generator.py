"""ReplyGenerator on the decode loop: every request joins the running decode at its next step.

The batching decorator in front hands each batch over at once (as many in flight as the KV cache
has rows): the loop itself puts them together, step by step."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import partial

import torch

from tinktalker.adapters.model.continuous.decode_loop import DecodeLoop
from tinktalker.adapters.model.continuous.gpt2_weights import Gpt2Weights
from tinktalker.adapters.model.continuous.job import Job
from tinktalker.adapters.model.continuous.kv_cache import KvCache
from tinktalker.adapters.model.continuous.token_choice import TokenChoice
from tinktalker.adapters.model.decoding import Decoding
from tinktalker.adapters.model.in_process_reply_generator import (
    HandOver,
    InProcessReplyGenerator,
)
from tinktalker.adapters.model.loading import load_model_and_tokenizer, pick_dtype
from tinktalker.adapters.model.rudialogpt_prompt import PromptMarkers, RuDialoGptPrompt
from tinktalker.domain.dialogue import GenerationOptions, Message, Reply
from tinktalker.domain.errors import SetupError

log = logging.getLogger(__name__)


class ContinuousReplyGenerator(InProcessReplyGenerator):
    """Implements ports.ReplyGenerator; callers wait in their own threads, one loop decodes."""

    runs_as = "continuous"

    def __init__(
        self,
        loop: DecodeLoop,
        tokenizer,
        sequence_tokens: int,
        rows: int,
        decoding: Decoding,
        markers: PromptMarkers,
        pad_to_messages: int,
    ) -> None:
        super().__init__(
            RuDialoGptPrompt(tokenizer, markers, pad_to_messages),
            sequence_tokens,
            decoding,
            batches_in_flight=rows,
        )
        self._loop = loop

    def generate_now(
        self,
        contexts: Sequence[Sequence[Message]],
        options: GenerationOptions | None = None,
        hand_over: HandOver | None = None,
    ) -> list[Reply]:
        """Blocks until the loop has written every context's reply."""
        decoding = self._decoding.merged(options)
        prompts = self._prompts(contexts, decoding)
        stops = options.stop if options is not None else ()
        seed = options.seed if options is not None else None
        streamer = self._row_streamer(len(contexts), decoding, stops, hand_over)
        jobs = [
            Job(
                prompt=prompt,
                choice=TokenChoice(self._fitted(decoding, prompt), self._prompt.stop_ids, seed),
                push=partial(streamer.push, row) if streamer is not None else None,
            )
            for row, prompt in enumerate(prompts)
        ]
        for job in jobs:  # else the Job's defaults: never given up, no stop strings to look for
            if hand_over is not None:
                job.given_up = lambda: hand_over.given_up
            if decoding.num_beams == 1:
                job.stopped = partial(self._stopped, stops)
        self._loop.submit(jobs)
        for job in jobs:
            job.done.wait()
        for job in jobs:
            if job.error is not None:
                raise job.error
        return [self._prompt.read_reply(job.reply or [], len(job.prompt), stops) for job in jobs]

    @property
    def loop(self) -> DecodeLoop:
        return self._loop

    def _fitted(self, decoding: Decoding, prompt: list[int]) -> Decoding:
        """At most the tokens left in the prompt's KV cache rows."""
        room = self.max_positions - len(prompt)
        if decoding.max_new_tokens <= room:
            return decoding
        return replace(
            decoding, max_new_tokens=room, min_new_tokens=min(decoding.min_new_tokens, room)
        )

    def _stopped(self, stops: Sequence[str], ids: list[int]) -> bool:
        return self._prompt.visible(ids, stops)[2]

    def close(self) -> None:
        self._loop.close()
        super().close()


def matrix_dtype(dtype: str) -> torch.dtype:
    """auto: bfloat16 where the CPU multiplies it natively (AMX, AVX-512 BF16), else float32."""
    if dtype != "auto":
        return pick_dtype(dtype, "cpu")
    return torch.bfloat16 if _native_bfloat16() else torch.float32


def _native_bfloat16() -> bool:
    return bool({"amx_bf16", "avx512_bf16"} & cpu_flags())


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux); empty where /proc/cpuinfo is not there."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            line = next((line for line in info if line.startswith("flags")), "")
    except OSError:
        return set()
    return set(line.partition(":")[2].split())


def _precisions(matrices: str, dtype: str) -> tuple[torch.dtype, torch.dtype, bool]:
    """(the stream's dtype, the KV cache's, int8 matrices?) for continuous.matrices and
    model.dtype."""
    if matrices == "int8":
        cache = torch.bfloat16 if _native_bfloat16() else torch.float32
        return torch.float32, cache, True
    precision = matrix_dtype(matrices if matrices != "auto" else dtype)
    return precision, precision, False


def open_continuous_reply_generator(
    name_or_path: str,
    *,
    decoding: dict,
    markers: PromptMarkers,
    pad_to_messages: int,
    max_sequences: int,
    sequence_tokens: int,
    matrices: str = "auto",
    device: str = "cpu",
    dtype: str = "auto",
    local_files_only: bool = False,
    threads: int = 0,
) -> Iterator[ContinuousReplyGenerator]:
    """Resource: loads the model, allocates the KV cache, runs the loop until shutdown."""
    if decoding["num_beams"] > max_sequences:  # every request has generation.num_beams
        raise SetupError(
            f"generation.num_beams ({decoding['num_beams']}) needs {decoding['num_beams']} "
            "sequences of the continuous engine's KV cache, but continuous.max_sequences is "
            f"{max_sequences}; raise continuous.max_sequences or lower generation.num_beams"
        )
    precision, cache_dtype, int8 = _precisions(matrices, dtype)
    tokenizers: list = []

    def build() -> tuple[Gpt2Weights, KvCache]:  # on the loop's thread
        if threads > 0:
            torch.set_num_threads(threads)
        model, tokenizer = load_model_and_tokenizer(
            name_or_path, "cpu", "float32", local_files_only
        )
        tokenizers.append(tokenizer)
        weights = Gpt2Weights.of(model, precision)
        if int8:
            torch.backends.quantized.engine = "onednn"  # AMX / VNNI int8 products
            weights = weights.with_int8()
        tokens = min(sequence_tokens, weights.max_positions)
        size = weights.width // weights.heads
        layers = len(weights.layers)
        return weights, KvCache(layers, weights.heads, size, max_sequences, tokens, cache_dtype)

    loop = DecodeLoop(build)
    cache = loop.cache
    generator = ContinuousReplyGenerator(
        loop,
        tokenizers[0],
        cache.tokens,
        max_sequences,
        Decoding(**decoding),
        markers,
        pad_to_messages,
    )
    kind = "int8 matrices (oneDNN)" if int8 else str(precision).removeprefix("torch.")
    generator.runs_as = (
        f"continuous batching on cpu, {kind}, "
        f"{torch.get_num_threads() if threads <= 0 else threads} threads, KV cache "
        f"{max_sequences} sequences x {cache.tokens} tokens "
        f"({str(cache_dtype).removeprefix('torch.')}, {cache.megabytes:.0f} MiB)"
    )
    log.info("decode loop: %s", generator.runs_as)
    try:
        yield generator
    finally:
        generator.close()
