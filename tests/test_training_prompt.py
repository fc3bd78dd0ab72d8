"""Training renders each example in the very prompt the bot serves: the ids of an example's prompt
part equal the ids the bot hands the model for the same conversation."""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit import schema_defaults as defaults
from tests.fakes import FakeUserChannel, reply_rules
from tests.telegram_exports import chat, message, write_export
from tinktalker.adapters.model.loading import load_model_and_tokenizer
from tinktalker.adapters.model.rudialogpt_prompt import RuDialoGptPrompt
from tinktalker.adapters.model.torch_reply_generator import TorchReplyGenerator
from tinktalker.adapters.storage.memory_dialogue_store import InMemoryDialogueStore
from tinktalker.domain.dialogue import Conversation, Message, Speaker
from tinktalker.domain.replies import ReplyService
from tinktalker.domain.service import DialoguePolicy, DialogueService
from tinktalker.domain.turns import ConversationTurns
from tinktalker.training.chat_files import read_chat_data
from tinktalker.training.examples import IGNORED, ExampleEncoder

FRAGMENTS = ("@@ПЕРВЫЙ@@", "@@ВТОРОЙ@@", "</s>", "<|endoftext|>")


async def ids_the_bot_sends(model_dir: Path, history: list[Message], incoming: str) -> list[int]:
    model, tokenizer = load_model_and_tokenizer(str(model_dir), device="cpu")
    sent: list[list[int]] = []
    generate = model.generate

    def recording(**kwargs):
        sent.append(kwargs["input_ids"][0].tolist())
        return generate(**kwargs)

    model.generate = recording
    generator = TorchReplyGenerator(
        model,
        tokenizer,
        defaults.decoding(do_sample=False, num_beams=1, max_new_tokens=2),
        defaults.markers(),
        pad_to_messages=3,
    )
    store, conversation = InMemoryDialogueStore(), Conversation("chat")
    await store.append(conversation, history)
    replies = ReplyService(
        generator, None, reply_rules(context_size=3, control_fragments=FRAGMENTS)
    )
    service = DialogueService(
        replies,
        store,
        FakeUserChannel(),
        DialoguePolicy(unavailable_reply="(none)"),
        ConversationTurns(slots=None),
    )
    try:
        await service.handle(conversation, incoming)
    finally:
        generator.close()
    return sent[0]


@pytest.mark.parametrize("earlier", [0, 1, 2, 4])
async def test_an_example_prompt_is_token_for_token_what_the_bot_sends(
    tiny_model_dir: Path, tmp_path: Path, earlier: int
) -> None:
    # A chat where Борис answers Анна; the bot stands in for Борис, Анна is the user.
    texts = ["привет как дела", "акции растут", "что думаешь о рынке", "доллар дорожает"]
    said = texts[:earlier]
    incoming = "индекс мосбиржи упал @@ВТОРОЙ@@ да </s>"  # markers are cleaned alike
    lines = [
        message(n + 1, "anna" if (earlier - n) % 2 == 0 else "boris", text, n, reply_to=n or None)
        for n, text in enumerate([*said, incoming])
    ]
    lines.append(message(len(lines) + 1, "boris", "я держу долгосрок", 9, reply_to=len(lines)))
    export = write_export(tmp_path / "result.json", chat(lines))
    exchange = read_chat_data(
        export, defaults.data_rules(context_size=3, control_fragments=FRAGMENTS)
    )
    last = exchange.exchanges[-1]
    _, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), device="cpu")
    example = ExampleEncoder(
        RuDialoGptPrompt.for_markers(tokenizer, *FRAGMENTS[:2], 3), 128
    ).encode(last)

    history = [
        Message(Speaker.USER if (earlier - n) % 2 == 0 else Speaker.BOT, text)
        for n, text in enumerate(said)
    ]
    sent = await ids_the_bot_sends(tiny_model_dir, history, incoming)

    assert list(example.input_ids[: example.prompt_length]) == sent
    assert all(label == IGNORED for label in example.labels[: example.prompt_length])
    reply = example.input_ids[example.prompt_length :]
    assert example.labels[example.prompt_length :] == reply  # loss only on the reply and eos
    assert tokenizer.decode(reply[:-1]).strip() == "я держу долгосрок"
    assert reply[-1] == tokenizer.eos_token_id
