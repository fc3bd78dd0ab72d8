"""ReplyGenerator on CTranslate2 (`ctranslate2.Generator`): the same prompt and replies, int8
matrices on a CPU."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path

import ctranslate2
from transformers import AutoConfig, AutoTokenizer

from tinktalker.adapters.model.ctranslate2_conversion import (
    FALLBACK,
    converted_model,
    default_cache_dir,
    supported_compute_type,
)
from tinktalker.adapters.model.decoding import Decoding
from tinktalker.adapters.model.in_process_reply_generator import (
    HandOver,
    InProcessReplyGenerator,
)
from tinktalker.adapters.model.loading import local_source
from tinktalker.adapters.model.reply_streamer import RowStreamer
from tinktalker.adapters.model.rudialogpt_prompt import PromptMarkers, RuDialoGptPrompt
from tinktalker.domain.dialogue import GenerationOptions, Message, Reply
from tinktalker.domain.errors import SetupError

log = logging.getLogger(__name__)
_SMALLEST_TOP_P = 1e-6


class Ctranslate2ReplyGenerator(InProcessReplyGenerator):
    """Implements ports.ReplyGenerator; a `generate_batch` per worker at a time, off the event loop.

    A request's `seed` is not honoured: CTranslate2 seeds its sampler once per worker thread.
    """

    runs_as = "ctranslate2"  # how the model runs, in words (`serve` says it at start)

    def __init__(
        self,
        generator: ctranslate2.Generator,
        vocabulary: list[str],
        tokenizer,
        max_positions: int,
        decoding: Decoding,
        markers: PromptMarkers,
        pad_to_messages: int,
        parallel_batches: int = 1,
    ) -> None:
        # each worker may run a batch of its own: a batch that arrives while another runs starts
        # on the next free worker (the batching decorator keeps that many in flight)
        super().__init__(
            RuDialoGptPrompt(tokenizer, markers, pad_to_messages),
            max_positions,
            decoding,
            batches_in_flight=parallel_batches,
        )
        self._generator = generator
        self._parallel_batches = parallel_batches
        self._vocabulary = vocabulary  # CTranslate2 takes token names; index = token id

    def generate_now(
        self,
        contexts: Sequence[Sequence[Message]],
        options: GenerationOptions | None = None,
        hand_over: HandOver | None = None,
    ) -> list[Reply]:
        """Blocking batch generation; CTranslate2 batches prompts of different lengths without
        padding."""
        decoding = self._decoding.merged(options)
        prompts = self._prompts(contexts, decoding)
        stops = options.stop if options is not None else ()
        kwargs = generate_batch_kwargs(decoding, self._prompt.stop_ids)
        streamer = self._row_streamer(len(contexts), decoding, stops, hand_over)
        if streamer is not None and hand_over is not None:  # one beam: a callback per token chosen
            kwargs["callback"] = partial(_step, streamer, hand_over)
        # split between the workers, which run their parts side by side (CTranslate2 groups them by
        # length)
        kwargs["max_batch_size"] = -(-len(prompts) // self._parallel_batches)
        results = self._generator.generate_batch(
            [[self._vocabulary[i] for i in p] for p in prompts], **kwargs
        )
        return [
            self._prompt.read_reply(r.sequences_ids[0], len(p), stops)
            for r, p in zip(results, prompts, strict=True)
        ]

    def close(self) -> None:
        super().close()  # the last model call has returned
        vars(self).pop("_generator", None)  # freed here, never by a worker that held a callback


def _step(
    streamer: RowStreamer, hand_over: HandOver, step: ctranslate2.GenerationStepResult
) -> bool:
    """CTranslate2's step callback, on its worker threads: it never raises into them (a Python
    exception there aborts the process); True stops the row (its stream was closed)."""
    try:
        if not hand_over.given_up:
            streamer.push(step.batch_id, step.token_id)
    except BaseException:  # noqa: BLE001 - see above
        hand_over.failed()
    return hand_over.given_up


def generate_batch_kwargs(decoding: Decoding, stop_ids: Sequence[int]) -> dict:
    """`Generator.generate_batch` arguments for Hugging Face-style decoding knobs."""
    # CTranslate2 refuses a top_p that rounds to 0 in float32; the nucleus keeps the likeliest token
    # either way
    sampling = (
        {
            "sampling_topk": decoding.top_k,
            "sampling_topp": max(decoding.top_p, _SMALLEST_TOP_P),
            "sampling_temperature": decoding.temperature,
        }
        if decoding.do_sample
        else {"sampling_topk": 1}
    )
    return {
        "beam_size": decoding.num_beams,
        "max_length": decoding.max_new_tokens,
        "min_length": min(decoding.min_new_tokens, decoding.max_new_tokens),
        "include_prompt_in_result": False,
        "end_token": list(stop_ids),
        "return_end_token": True,  # the shared reply cut sees the stop id
        "repetition_penalty": decoding.repetition_penalty,
        "length_penalty": decoding.length_penalty,
        "no_repeat_ngram_size": decoding.no_repeat_ngram_size,
        **sampling,
    }


def pick_ct2_device(device: str) -> tuple[str, int]:
    """('cpu' | 'cuda', device index); SetupError when CUDA is asked for and CTranslate2 sees
    none."""
    gpus = ctranslate2.get_cuda_device_count()
    if device == "auto":
        return ("cuda", 0) if gpus else ("cpu", 0)
    if device.startswith("cuda"):
        if not gpus:
            raise SetupError(
                f"model.device is '{device}' but CTranslate2 sees no CUDA GPU "
                f"(a CPU-only build or no driver); set model.device: cpu, {FALLBACK}"
            )
        return "cuda", int(device.partition(":")[2] or 0)
    return device, 0


def open_ctranslate2_reply_generator(
    name_or_path: str,
    *,
    decoding: dict,
    markers: PromptMarkers,
    pad_to_messages: int,
    device: str = "auto",
    quantization: str = "auto",
    threads: int = 0,
    parallel_batches: int = 0,
    cache_dir: str | None = None,
    local_files_only: bool = False,
) -> Iterator[Ctranslate2ReplyGenerator]:
    """Resource: converts the model on first use (cached), loads it once, yields the generator."""
    device, index = pick_ct2_device(device)
    compute_type = supported_compute_type(quantization, device)
    source = local_source(name_or_path, local_files_only)
    folder = converted_model(
        source, compute_type, Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    )
    threads = threads or os.cpu_count() or 1
    workers = min(parallel_batches or threads, threads) if device == "cpu" else 1
    try:
        engine = ctranslate2.Generator(
            str(folder),
            device=device,
            device_index=index,
            compute_type=compute_type,
            inter_threads=workers,
            intra_threads=max(threads // workers, 1),
        )
    except (RuntimeError, ValueError) as error:
        raise SetupError(
            f"CTranslate2 cannot run {folder} as {compute_type} on {device} ({error}); "
            f"pick another model.quantization, {FALLBACK}"
        ) from error
    vocabulary = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
    config = AutoConfig.from_pretrained(source)
    log.info(
        "loaded %s with CTranslate2 on %s as %s (%d side-by-side batches)",
        source,
        device,
        compute_type,
        workers,
    )
    generator = Ctranslate2ReplyGenerator(
        engine,
        vocabulary,
        AutoTokenizer.from_pretrained(source),
        int(getattr(config, "n_positions", None) or config.max_position_embeddings),
        Decoding(**decoding),
        markers,
        pad_to_messages,
        workers,
    )
    generator.runs_as = (
        f"ctranslate2 on {device}, quantization {compute_type}, {threads} threads "
        f"in {workers} parallel batches"
    )
    try:
        yield generator
    finally:
        generator.close()
        del engine
