"""Makes a model folder other engines (vLLM, TGI, llama.cpp, a transformers pipeline) serve the way
TinkTalker does: a chat template that renders the project's prompt, a generation config that
stops at the markers, and the context length under the name llama.cpp's converter reads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from tinktalker.adapters.model.rudialogpt_prompt import PromptMarkers, RuDialoGptPrompt
from tinktalker.domain.dialogue import Message, Speaker
from tinktalker.domain.errors import SetupError
from tinktalker.domain.prompt_safety import context_window, sanitize_user_text

_SAMPLING_KEYS = (
    "do_sample",
    "top_k",
    "top_p",
    "temperature",
    "num_beams",
    "no_repeat_ngram_size",
    "repetition_penalty",
    "length_penalty",
    "max_new_tokens",
)
_CHECK_DIALOGUES = (
    [Message(Speaker.USER, "привет")],
    [
        Message(Speaker.USER, "привет"),
        Message(Speaker.BOT, "здравствуй"),
        Message(Speaker.USER, "как дела?"),
    ],
    [
        Message(Speaker.BOT, "рынок растёт"),
        Message(Speaker.USER, "купил акции"),
        Message(Speaker.BOT, "ок"),
        Message(Speaker.USER, "а ты?"),
    ],
)


def chat_template(
    markers: PromptMarkers,
    pad_to_messages: int,
    context_size: int,
    control_fragments: Sequence[str],
) -> str:
    """Jinja that renders `@@ПЕРВЫЙ@@ m1 @@ВТОРОЙ@@ m2 ... @@ВТОРОЙ@@` as RuDialoGptPrompt does:
    system messages left out, the last `context_size` messages, blanks up to `pad_to_messages`.
    """
    first, second = json.dumps(markers.first), json.dumps(markers.second)
    clean = "".join(f" | replace({json.dumps(f)}, '')" for f in control_fragments if f)
    return (
        "{%- set ns = namespace(turns=[]) -%}"
        "{%- for m in messages -%}{%- if m['role'] in ['user', 'assistant'] -%}"
        "{%- set ns.turns = ns.turns + [m] -%}{%- endif -%}{%- endfor -%}"
        f"{{%- set turns = ns.turns[-{context_size}:] -%}}"
        "{%- set first_is_user = turns | length > 0 and turns[0]['role'] == 'user' -%}"
        f"{{%- for i in range({pad_to_messages} - turns | length) -%}}"
        f"{{%- set distance = {pad_to_messages} - turns | length - i -%}}"
        f"{{{{ {first} if (distance % 2 == 1) != first_is_user else {second} }}}}{{{{ '  ' }}}}"
        "{%- endfor -%}"
        "{%- for m in turns -%}"
        f"{{{{ {first} if m['role'] == 'user' else {second} }}}}"
        f"{{{{ ' ' + ((m['content']{clean}).split() | join(' ')) + ' ' }}}}"
        "{%- endfor -%}"
        f"{{%- if add_generation_prompt -%}}{{{{ {second} }}}}{{%- endif -%}}"
    )


def write_serving_files(
    folder: Path,
    tokenizer,
    markers: PromptMarkers,
    pad_to_messages: int,
    context_size: int,
    extra_fragments: Sequence[str],
    decoding: dict,
) -> None:
    """Adds the chat template to the folder's tokenizer config and writes generation_config.json."""
    from transformers import GenerationConfig

    prompt = RuDialoGptPrompt(tokenizer, markers, pad_to_messages)
    control_fragments = prompt.control_fragments(extra_fragments)
    _markers_special(tokenizer, prompt, markers)
    tokenizer.chat_template = chat_template(
        markers, pad_to_messages, context_size, control_fragments
    )
    _check_template(tokenizer, prompt, context_size, control_fragments)
    tokenizer.save_pretrained(folder)
    _template_in_tokenizer_config(Path(folder), tokenizer.chat_template)
    _context_length_in_model_config(Path(folder))
    sampling = {key: decoding[key] for key in _SAMPLING_KEYS if key in decoding}
    pad = prompt.first_ids[0] if len(prompt.first_ids) == 1 else tokenizer.pad_token_id
    GenerationConfig(
        eos_token_id=list(prompt.stop_ids),
        pad_token_id=pad,
        bos_token_id=tokenizer.bos_token_id,
        **sampling,
    ).save_pretrained(folder)


def _markers_special(tokenizer, prompt: RuDialoGptPrompt, markers: PromptMarkers) -> None:
    """Single-token markers become special tokens, so engines that decode with skip_special_tokens
    (vLLM, pipelines) leave the marker that stopped a reply out of its text; ids stay the same."""
    singles = [
        m
        for m, ids in ((markers.first, prompt.first_ids), (markers.second, prompt.second_ids))
        if len(ids) == 1 and tokenizer.convert_tokens_to_ids(m) == ids[0]
    ]
    if singles:
        tokenizer.add_special_tokens(
            {"additional_special_tokens": singles}, replace_extra_special_tokens=False
        )


def _template_in_tokenizer_config(folder: Path, template: str) -> None:
    # transformers 5 writes chat_template.jinja; engines that read only tokenizer_config.json (older
    # TGI, older transformers) find it there too
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["chat_template"] = template
    config_path.write_text(
        json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def _context_length_in_model_config(folder: Path) -> None:
    # transformers 5 writes GPT-2's context length only as n_positions; llama.cpp's converter reads
    # n_ctx (KeyError: 'n_ctx' without it), which transformers 4 wrote too
    config_path = folder / "config.json"
    if not config_path.is_file():
        return
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if "n_ctx" in config or "n_positions" not in config:
        return
    config["n_ctx"] = config["n_positions"]
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _check_template(
    tokenizer, prompt: RuDialoGptPrompt, context_size: int, control_fragments: Sequence[str]
) -> None:
    """The template must give the very ids the project sends the model; a tokenizer that splits the
    markers differently in context would break that, so it is refused rather than exported wrong."""
    for dialogue in _CHECK_DIALOGUES:
        window = context_window(
            [Message(m.speaker, sanitize_user_text(m.text, control_fragments)) for m in dialogue],
            context_size,
        )
        expected = prompt.encode(window, 1 << 30)
        chat = [
            {"role": "user" if m.speaker is Speaker.USER else "assistant", "content": m.text}
            for m in dialogue
        ]
        rendered = tokenizer.apply_chat_template(
            chat, tokenize=True, add_generation_prompt=True, return_dict=False
        )
        if list(rendered) != expected:
            raise SetupError(
                "this tokenizer does not encode the rendered chat template as the project's prompt "
                f"(got {list(rendered)[:12]}..., expected {expected[:12]}...); "
                "check prompt.first_marker and prompt.second_marker against its vocabulary"
            )
