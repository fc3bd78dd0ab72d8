"""ReplyGenerator on an in-process transformers model (ruDialoGPT and any GPT-2 dialogue model)."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace

import torch
from transformers import LogitsProcessorList

from adapters.model.loading import load_model_and_tokenizer
from adapters.model.rudialogpt_prompt import PromptMarkers, RuDialoGptPrompt
from adapters.model.top_k_top_p_warper import TopKTopPWarper
from domain.dialogue import GenerationOptions, Message, Reply
from domain.errors import ReplyUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decoding:
    """Model-card defaults of tinkoff-ai/ruDialoGPT-medium."""

    top_k: int = 10
    top_p: float = 0.95
    num_beams: int = 3
    do_sample: bool = True
    no_repeat_ngram_size: int = 2
    temperature: float = 1.2
    repetition_penalty: float = 1.2
    length_penalty: float = 1.0
    max_new_tokens: int = 40

    def generate_kwargs(self) -> dict:
        kwargs = asdict(self)
        if not self.do_sample:  # sampling knobs mean nothing to greedy/beam search; passing them only warns
            for key in ("top_k", "top_p", "temperature"):
                kwargs.pop(key)
        return kwargs

    def merged(self, options: GenerationOptions | None) -> "Decoding":
        if options is None:
            return self
        overrides = {k: v for k, v in asdict(options).items() if k in asdict(self) and v is not None}
        return replace(self, **overrides)


class TorchReplyGenerator:
    """Implements ports.ReplyGenerator; one model call at a time, off the event loop."""

    def __init__(self, model, tokenizer, decoding: Decoding = Decoding(), markers: PromptMarkers = PromptMarkers(),
                 pad_to_messages: int = 3) -> None:
        self._model = model
        self._tokenizer = tokenizer
        self._decoding = decoding
        self._prompt = RuDialoGptPrompt(tokenizer, markers, pad_to_messages)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generate")
        self.max_positions = int(getattr(model.config, "n_positions", None) or model.config.max_position_embeddings)

    @property
    def prompt(self) -> RuDialoGptPrompt:
        return self._prompt

    async def generate(self, context: Sequence[Message], options: GenerationOptions | None = None) -> Reply:
        return (await self.generate_batch([context], options))[0]

    async def generate_batch(self, contexts: Sequence[Sequence[Message]],
                             options: GenerationOptions | None = None) -> list[Reply]:
        if not contexts:
            return []
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self.generate_now, contexts, options)
        except RuntimeError as error:  # CUDA out of memory and friends: the caller may retry
            log.exception("generation failed for a batch of %d", len(contexts))
            raise ReplyUnavailable(f"the model failed: {error}") from error

    def generate_now(self, contexts: Sequence[Sequence[Message]], options: GenerationOptions | None = None) -> list[Reply]:
        """Blocking batch generation: one `generate` over left-padded prompts."""
        decoding = self._decoding.merged(options)
        budget = max(self.max_positions - decoding.max_new_tokens, 1)
        prompts = [self._prompt.encode(c, budget) for c in contexts]
        input_ids, attention = self._left_pad(prompts)
        if options is not None and options.seed is not None:
            torch.manual_seed(options.seed)
        stops = options.stop if options is not None else ()
        with torch.inference_mode():
            output = self._model.generate(
                input_ids=input_ids.to(self._model.device), attention_mask=attention.to(self._model.device),
                eos_token_id=list(self._prompt.stop_ids), pad_token_id=self._pad_id(),
                streamer=self._streamer(contexts, decoding, stops), **self._kwargs(decoding))
        generated = output[:, input_ids.shape[1]:].tolist()
        return [self._reply(ids, len(p), stops) for ids, p in zip(generated, prompts)]

    def _streamer(self, contexts: Sequence[Sequence[Message]], decoding: Decoding, stops: Sequence[str]):
        listeners = [getattr(context, "listener", None) for context in contexts]
        if decoding.num_beams > 1 or not any(listeners):  # beams change earlier tokens until the end
            return None
        from adapters.model.reply_streamer import RowStreamer

        markers = (self._prompt.markers.first, self._prompt.markers.second)
        return RowStreamer(listeners, lambda ids: self._visible(ids, stops)[1:], (*markers, *stops))

    def _kwargs(self, decoding: Decoding) -> dict:
        kwargs = decoding.generate_kwargs()
        if decoding.do_sample:  # one warper instead of HF's three: same tokens, no full-vocabulary sort per row
            keep = len(self._prompt.stop_ids) + 1 if decoding.num_beams > 1 else 1  # as HF keeps for beams
            warper = TopKTopPWarper(kwargs.pop("temperature"), kwargs.pop("top_k"), kwargs.pop("top_p"), keep)
            kwargs.update(temperature=1.0, top_k=0, top_p=1.0, logits_processor=LogitsProcessorList([warper]))
        return kwargs

    def _reply(self, generated: list[int], prompt_tokens: int, stops: Sequence[str]) -> Reply:
        ids, text, stopped = self._visible(generated, stops)
        return Reply(text.strip(), prompt_tokens, len(ids), "stop" if stopped else "length")

    def _visible(self, generated: list[int], stops: Sequence[str]) -> tuple[list[int], str, bool]:
        """The reply's ids and text (not yet stripped) up to the first stop, and whether a stop ended it."""
        ids, stopped = self._prompt.cut_reply(generated)
        text = self._tokenizer.decode(ids, skip_special_tokens=True)
        for marker in (self._prompt.markers.first, self._prompt.markers.second, *stops):
            if marker and marker in text:  # multi-token markers and caller stop strings
                text, stopped = text.split(marker, 1)[0], True
        return ids, text, stopped

    def _pad_id(self) -> int:
        # The user marker begins every prompt, so padding with it changes neither the repetition
        # penalty nor the banned n-grams: batched greedy output equals one-by-one output.
        if len(self._prompt.first_ids) == 1:
            return self._prompt.first_ids[0]
        return self._tokenizer.pad_token_id if self._tokenizer.pad_token_id is not None else self._prompt.stop_ids[0]

    def _left_pad(self, prompts: list[list[int]]):
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self._pad_id(), dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, prompt in enumerate(prompts):
            ids[row, width - len(prompt):] = torch.tensor(prompt, dtype=torch.long)
            mask[row, width - len(prompt):] = 1
        return ids, mask

    def close(self) -> None:
        self._executor.shutdown(wait=True)


def open_torch_reply_generator(name_or_path: str, device: str = "auto", dtype: str = "auto",
                               local_files_only: bool = False, decoding: dict | None = None,
                               markers: dict | None = None, pad_to_messages: int = 3) -> Iterator[TorchReplyGenerator]:
    """Resource: loads the model once, yields the generator, frees the model on shutdown."""
    model, tokenizer = load_model_and_tokenizer(name_or_path, device, dtype, local_files_only)
    generator = TorchReplyGenerator(model, tokenizer, Decoding(**(decoding or {})),
                                    PromptMarkers(**(markers or {})), pad_to_messages)
    try:
        yield generator
    finally:
        generator.close()
        del model
