"""A GPT-2 checkpoint's weights as plain tensors, laid out for `torch.nn.functional.linear`."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from tinktalker.domain.errors import SetupError


@dataclass(frozen=True)
class Linear:
    """A dense layer: its matrix [out, in] and bias, or the same as int8 for oneDNN.

    int8 (`with_int8`): one scale per output row, the input quantized on the fly per call, the
    product on the CPU's int8 units (AMX or VNNI) through torch's dynamic quantized linear on the
    oneDNN engine; input and output stay float32. Measured on a 2-core Xeon with AMX, 72 matrices
    of 1024 x 4096: 19 / 20 / 25 ms for 1 / 8 / 32 rows, against 40 / 41 / 44 ms in bfloat16."""

    weight: torch.Tensor | None  # [out, in]; None once packed as int8
    bias: torch.Tensor | None = None
    packed: object | None = None  # torch.ops.quantized.linear_prepack's result

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.weight is None:
            return torch.ops.quantized.linear_dynamic(x, self.packed)
        return F.linear(x, self.weight, self.bias)

    def with_int8(self) -> Linear:
        assert self.weight is not None
        weight = self.weight.float()
        scales = (weight.abs().amax(1).clamp(min=1e-8) / 127).double()
        zeros = torch.zeros(weight.shape[0], dtype=torch.long)
        with warnings.catch_warnings():  # torch's quantized tensors are deprecated (README)
            warnings.simplefilter("ignore", UserWarning)
            quantized = torch.quantize_per_channel(weight, scales, zeros, 0, torch.qint8)
        bias = self.bias.float() if self.bias is not None else None
        return Linear(None, None, torch.ops.quantized.linear_prepack(quantized, bias))


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
        """The matrices as int8 for oneDNN (a quarter of float32's memory)."""
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
