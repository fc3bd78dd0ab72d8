"""ReplyGenerator on an in-process transformers model (ruDialoGPT and any GPT-2 dialogue model)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from transformers import LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from tinktalker.adapters.model.decoding import Decoding
from tinktalker.adapters.model.in_process_reply_generator import (
    HandOver,
    InProcessReplyGenerator,
)
from tinktalker.adapters.model.loading import load_model_and_tokenizer
from tinktalker.adapters.model.rudialogpt_prompt import PromptMarkers, RuDialoGptPrompt
from tinktalker.adapters.model.top_k_top_p_warper import TopKTopPWarper
from tinktalker.domain.dialogue import GenerationOptions, Message, Reply

__all__ = ["Decoding", "TorchReplyGenerator", "open_torch_reply_generator"]


class TorchReplyGenerator(InProcessReplyGenerator):
    """Implements ports.ReplyGenerator; one model call at a time, off the event loop."""

    runs_as = "torch"  # how the model runs, in words (`serve` says it at start)

    def __init__(
        self,
        model,
        tokenizer,
        decoding: Decoding,
        markers: PromptMarkers,
        pad_to_messages: int,
    ) -> None:
        max_positions = int(
            getattr(model.config, "n_positions", None) or model.config.max_position_embeddings
        )
        super().__init__(
            RuDialoGptPrompt(tokenizer, markers, pad_to_messages), max_positions, decoding
        )
        self._model = model
        self._tokenizer = tokenizer

    def generate_now(
        self,
        contexts: Sequence[Sequence[Message]],
        options: GenerationOptions | None = None,
        hand_over: HandOver | None = None,
    ) -> list[Reply]:
        """Blocking batch generation: one `generate` over left-padded prompts."""
        decoding = self._decoding.merged(options)
        prompts = self._prompts(contexts, decoding)
        input_ids, attention = self._left_pad(prompts)
        if options is not None and options.seed is not None:
            torch.manual_seed(options.seed)
        stops = options.stop if options is not None else ()
        with torch.inference_mode():
            output = self._model.generate(
                input_ids=input_ids.to(self._model.device),
                attention_mask=attention.to(self._model.device),
                eos_token_id=list(self._prompt.stop_ids),
                pad_token_id=self._pad_id(),
                streamer=self._row_streamer(len(contexts), decoding, stops, hand_over),
                stopping_criteria=StoppingCriteriaList(
                    [] if hand_over is None else [_GivenUp(hand_over)]
                ),
                **self._kwargs(decoding),
            )
        generated = output[:, input_ids.shape[1] :].tolist()
        return [
            self._prompt.read_reply(ids, len(p), stops)
            for ids, p in zip(generated, prompts, strict=True)
        ]

    def _kwargs(self, decoding: Decoding) -> dict:
        kwargs = decoding.generate_kwargs()
        if (
            decoding.do_sample
        ):  # one warper instead of HF's three: same tokens, no full-vocabulary sort per row
            keep = (
                len(self._prompt.stop_ids) + 1 if decoding.num_beams > 1 else 1
            )  # as HF keeps for beams
            warper = TopKTopPWarper(
                kwargs.pop("temperature"), kwargs.pop("top_k"), kwargs.pop("top_p"), keep
            )
            kwargs.update(
                temperature=1.0, top_k=0, top_p=1.0, logits_processor=LogitsProcessorList([warper])
            )
        return kwargs

    def _pad_id(self) -> int:
        # The user marker begins every prompt, so padding with it changes neither the repetition
        # penalty nor the banned n-grams: batched greedy output equals one-by-one output.
        if len(self._prompt.first_ids) == 1:
            return self._prompt.first_ids[0]
        return (
            self._tokenizer.pad_token_id
            if self._tokenizer.pad_token_id is not None
            else self._prompt.stop_ids[0]
        )

    def _left_pad(self, prompts: list[list[int]]):
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self._pad_id(), dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, prompt in enumerate(prompts):
            ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
            mask[row, width - len(prompt) :] = 1
        return ids, mask


class _GivenUp(StoppingCriteria):
    """Stops every row at the next step once its stream was closed (nobody reads the rest)."""

    def __init__(self, hand_over: HandOver) -> None:
        self._hand_over = hand_over

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **_: object):
        rows = input_ids.shape[0]
        return torch.full(
            (rows,), self._hand_over.given_up, dtype=torch.bool, device=input_ids.device
        )


def open_torch_reply_generator(
    name_or_path: str,
    *,
    decoding: dict,
    markers: PromptMarkers,
    pad_to_messages: int,
    device: str = "auto",
    dtype: str = "auto",
    local_files_only: bool = False,
    threads: int = 0,
) -> Iterator[TorchReplyGenerator]:
    """Resource: loads the model once, yields the generator, frees the model on shutdown."""
    if threads > 0:
        torch.set_num_threads(threads)
    model, tokenizer = load_model_and_tokenizer(name_or_path, device, dtype, local_files_only)
    generator = TorchReplyGenerator(
        model,
        tokenizer,
        Decoding(**decoding),
        markers,
        pad_to_messages,
    )
    dtype_name = str(model.dtype).removeprefix("torch.")
    generator.runs_as = (
        f"torch on {model.device}, {dtype_name}, {torch.get_num_threads()} threads, "
        "one batch at a time"
    )
    try:
        yield generator
    finally:
        generator.close()
        del model
