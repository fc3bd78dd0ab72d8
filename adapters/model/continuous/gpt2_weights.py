"""A GPT-2 checkpoint's weights as plain tensors, laid out for `torch.nn.functional.linear`."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from tinktalker.domain.errors import SetupError

SMALL_STEP_ROWS = 4  # up to this many rows a step reads int8 matrices (when it has them)


@dataclass(frozen=True)
class Linear:
    """A dense layer, and optionally an int8 copy of its matrix (one scale per output row).

    A step of a few rows is bound by reading the matrices from memory, so there the int8 copy
    (half the bytes of bfloat16) is faster; from a handful of rows on, the bfloat16 matrix
    units win (measured on a 2-core Xeon with AMX: 72 matrices of 1024 x 4096 take 26 ms in
    int8 and 40 ms in bfloat16 for 1 row, 69 ms and 41 ms for 8)."""

    weight: torch.Tensor  # [out, in]
    bias: torch.Tensor | None = None
    int8: torch.Tensor | None = None
    scales: torch.Tensor | None = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.int8 is not None and x.shape[0] <= SMALL_STEP_ROWS:
            y = torch.ops.aten._weight_int8pack_mm(x, self.int8, self.scales)
            return y if self.bias is None else y + self.bias
        return F.linear(x, self.weight, self.bias)

    def with_int8(self) -> Linear:
        scales = self.weight.float().abs().amax(1).clamp(min=1e-8) / 127
        int8 = (self.weight.float() / scales[:, None]).round().clamp(-127, 127).to(torch.int8)
        return replace(self, int8=int8, scales=scales.to(self.weight.dtype))


@dataclass(frozen=True)
class LayerWeights:
    ln1: tuple[torch.Tensor, torch.Tensor]
    qkv: Linear  # [3 * width, width]
    out: Linear
    ln2: tuple[torch.Tensor, torch.Tensor]
    up: Linear
    down: Linear

    def with_int8(self) -> LayerWeights:
        return replace(
            self,
            qkv=self.qkv.with_int8(),
            out=self.out.with_int8(),
            up=self.up.with_int8(),
            down=self.down.with_int8(),
        )


@dataclass(frozen=True)
class Gpt2Weights:
    """Token and position embeddings, the blocks, the final norm and the (maybe untied) head."""

    tokens: torch.Tensor
    positions: torch.Tensor
    layers: tuple[LayerWeights, ...]
    final_norm: tuple[torch.Tensor, torch.Tensor]
    head: Linear
    heads: int
    epsilon: float

    @property
    def width(self) -> int:
        return int(self.tokens.shape[1])

    @property
    def max_positions(self) -> int:
        return int(self.positions.shape[0])

    def with_int8(self) -> Gpt2Weights:
        """Adds int8 copies for small steps (half again the matrices' memory)."""
        return replace(
            self,
            layers=tuple(layer.with_int8() for layer in self.layers),
            head=self.head.with_int8(),
        )

    @classmethod
    def of(cls, model, dtype: torch.dtype) -> Gpt2Weights:
        """From a transformers `GPT2LMHeadModel` (Conv1D weights are [in, out]: transposed here)."""
        config = model.config
        if getattr(config, "model_type", "") != "gpt2":
            raise SetupError(
                f"model.engine 'continuous' runs GPT-2 models, not {config.model_type}; "
                "use model.engine: torch or ctranslate2"
            )
        state = {k: v.detach().to(dtype) for k, v in model.state_dict().items()}

        def pair(prefix: str, transpose: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
            weight = state[f"{prefix}.weight"]
            return (weight.t().contiguous() if transpose else weight), state[f"{prefix}.bias"]

        def linear(prefix: str) -> Linear:
            return Linear(*pair(prefix, transpose=True))

        layers = tuple(
            LayerWeights(
                ln1=pair(f"transformer.h.{i}.ln_1"),
                qkv=linear(f"transformer.h.{i}.attn.c_attn"),
                out=linear(f"transformer.h.{i}.attn.c_proj"),
                ln2=pair(f"transformer.h.{i}.ln_2"),
                up=linear(f"transformer.h.{i}.mlp.c_fc"),
                down=linear(f"transformer.h.{i}.mlp.c_proj"),
            )
            for i in range(config.n_layer)
        )
        tokens = state["transformer.wte.weight"]
        return cls(
            tokens=tokens,
            positions=state["transformer.wpe.weight"],
            layers=layers,
            final_norm=pair("transformer.ln_f"),
            head=Linear(state.get("lm_head.weight", tokens)),
            heads=int(config.n_head),
            epsilon=float(config.layer_norm_epsilon),
        )
