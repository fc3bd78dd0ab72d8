"""Decoding knobs shared by the in-process engines (torch and CTranslate2), with per-request overrides."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from tinktalker.domain.dialogue import GenerationOptions


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
    min_new_tokens: int = 0

    def generate_kwargs(self) -> dict:
        """Hugging Face `generate` arguments."""
        kwargs = asdict(self)
        if (
            not self.do_sample
        ):  # sampling knobs mean nothing to greedy/beam search; passing them only warns
            for key in ("top_k", "top_p", "temperature"):
                kwargs.pop(key)
        return kwargs

    def merged(self, options: GenerationOptions | None) -> Decoding:
        if options is None:
            return self
        overrides = {
            k: v for k, v in asdict(options).items() if k in asdict(self) and v is not None
        }
        return replace(self, **overrides)
