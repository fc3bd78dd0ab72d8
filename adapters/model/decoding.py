"""Decoding knobs shared by the in-process engines (torch and CTranslate2), with per-request
overrides."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from tinktalker.domain.dialogue import GenerationOptions


@dataclass(frozen=True, kw_only=True)
class Decoding:
    """The `generation:` settings (their defaults, the model card's, live in the settings
    schema)."""

    top_k: int
    top_p: float
    num_beams: int
    do_sample: bool
    no_repeat_ngram_size: int
    temperature: float
    repetition_penalty: float
    length_penalty: float
    max_new_tokens: int
    min_new_tokens: int

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
