"""Builds tiny random-weight GPT-2 dialogue models for tests, benches and offline trials.

Run `python -m devkit.tiny_model FOLDER` to write one you can point `tinktalker chat --model` at.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tinktalker.entrypoints.settings import PromptSettings

# the schema's markers, so a tiny model speaks the prompt the app builds by default
FIRST_MARKER = PromptSettings().first_marker
SECOND_MARKER = PromptSettings().second_marker
EOS = "</s>"

_CORPUS = [
    "привет как дела",
    "акции растут",
    "купил облигации",
    "что думаешь о рынке",
    "индекс мосбиржи упал",
    "дивиденды скоро",
    "hello how are you",
    "buy the dip",
    "сегодня хорошая погода",
    "я держу долгосрок",
    "доллар дорожает",
    "нефть дешевеет",
    "спасибо",
    "пока",
    "да",
    "нет",
    "возможно",
    "ничего не понятно",
    "0123456789 !?.,",
]


def build_tokenizer(
    folder: Path | None = None, vocab_size: int = 400, corpus: list[str] | None = None
):
    """A byte-level BPE tokenizer that knows the two dialogue markers and an eos; `corpus` (e.g. a
    chat's lines) gives it whole words to write, instead of bytes that need training to join up."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        (corpus or []) + _CORPUS * 20, vocab_size=vocab_size, min_frequency=1, show_progress=False
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer, eos_token=EOS, bos_token=EOS
    )
    tokenizer.add_tokens([FIRST_MARKER, SECOND_MARKER])
    if folder is not None:
        tokenizer.save_pretrained(folder)
    return tokenizer


def build_tiny_model(
    folder: Path | str,
    *,
    n_layer: int = 2,
    n_embd: int = 32,
    n_head: int = 2,
    n_positions: int = 128,
    vocab_size: int | None = None,
    seed: int = 0,
    tie_word_embeddings: bool = True,
    corpus: list[str] | None = None,
    tokenizer_vocab: int = 400,
) -> Path:
    """Write a random GPT-2 and its tokenizer into `folder`; `vocab_size` pads the embedding."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from tinktalker.training.file_modes import give_written_files_the_usual_mode

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(folder, tokenizer_vocab, corpus)
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=max(vocab_size or 0, len(tokenizer)),
        n_positions=n_positions,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=tie_word_embeddings,
    )
    GPT2LMHeadModel(config).save_pretrained(folder)
    give_written_files_the_usual_mode(
        folder
    )  # safetensors writes 0600; another user (a container) must read it
    return folder


def build_marker_loving_model(folder: Path) -> Path:
    """A tiny model whose every next token is the user marker: a server that does not stop at it
    writes the user's next turn."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tinktalker.training.file_modes import give_written_files_the_usual_mode

    build_tiny_model(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    marker = AutoTokenizer.from_pretrained(folder).convert_tokens_to_ids(FIRST_MARKER)
    with torch.no_grad():
        direction = torch.randn(model.config.n_embd)
        model.transformer.ln_f.weight.zero_()
        model.transformer.ln_f.bias.copy_(direction)
        model.transformer.wte.weight[marker] = direction * 50  # tied to the output head
    model.save_pretrained(folder)
    give_written_files_the_usual_mode(folder)
    return folder


def build_medium_shaped_model(folder: Path | str) -> Path:
    """A random model of ruDialoGPT-medium's shape (24 x 1024, 16 heads, vocab 50261, untied head),
    for benches."""
    return build_tiny_model(
        folder,
        n_layer=24,
        n_embd=1024,
        n_head=16,
        n_positions=2048,
        vocab_size=50261,
        tie_word_embeddings=False,
    )


def chat_lines(csv_path: Path | str) -> list[str]:
    """Every message of a chat CSV (header first, then one exchange per row)."""
    import csv

    with open(csv_path, newline="", encoding="utf-8") as handle:
        return [cell for row in list(csv.reader(handle))[1:] for cell in row if cell]


def build_chat_shaped_model(folder: Path | str, chat_csv: Path | str) -> Path:
    """A random tiny model whose tokenizer writes the chat's words (`make demo-model` starts so)."""
    return build_tiny_model(
        folder, n_embd=64, corpus=chat_lines(chat_csv) * 5, tokenizer_vocab=1500
    )


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python -m devkit.tiny_model FOLDER [CHAT_CSV whose words it should know]")
    from tinktalker.entrypoints.random_weights import MARKER, NOTE

    if len(sys.argv) == 3:
        folder = build_chat_shaped_model(sys.argv[1], sys.argv[2])
    else:
        folder = build_tiny_model(sys.argv[1])
    (folder / MARKER).write_text(f"This model has {NOTE}.\n", encoding="utf-8")
    print(folder)
