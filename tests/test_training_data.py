"""Chat CSV reading, example encoding, batching and the training config section."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from devkit import schema_defaults as defaults
from devkit.dialogue_csv import write_dialogue_csv
from devkit.tiny_model import FIRST_MARKER, SECOND_MARKER, build_tokenizer
from tinktalker.adapters.model.rudialogpt_prompt import RuDialoGptPrompt
from tinktalker.domain.errors import SetupError
from tinktalker.entrypoints.settings import TrainingSettings
from tinktalker.training.batches import pad_batch, plan_batches
from tinktalker.training.chat_files import read_chat_data
from tinktalker.training.examples import IGNORED, ExampleEncoder
from tinktalker.training.exchanges import Exchange
from tinktalker.training.run import split_by_position


def read_chat_csv(path: Path, limit: int | None = None):
    return read_chat_data(path, defaults.data_rules(), limit)


def pair(first: str, second: str) -> Exchange:
    return Exchange((first,), second)


def test_rows_missing_a_side_are_skipped_and_counted(tmp_path: Path) -> None:
    path = write_dialogue_csv(
        tmp_path / "chat.csv",
        rows=4,
        extra=[["None", "ответ"], ["вопрос", ""], ["только один"], ["", ""], [" да ", " нет "]],
    )
    data = read_chat_csv(path)
    assert (data.read, data.used, sum(data.skipped.values())) == (9, 5, 4)
    assert data.exchanges[-1] == pair("да", "нет")


def test_limit_keeps_the_last_rows(tmp_path: Path) -> None:
    data = read_chat_csv(
        write_dialogue_csv(tmp_path / "chat.csv", rows=10, extra=[["last q", "last a"]]), limit=3
    )
    assert data.used == 3 and data.left_out == 8
    assert data.exchanges[-1] == pair("last q", "last a")


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "is empty"),
        (b"first,second\n\xcf\xf0\xe8\xe2\xe5\xf2,hi\n", "line 2: not UTF-8"),
        (b'first,second\na,b\n"c,d\ne,f\n', "line 3: not valid CSV"),
        (b"first,second\na,b\na,b,c\n", "line 3: 3 cells, expected 2"),
        (b"only\na\n", "line 1: the header has 1 column; expected 2 or more"),
        (b"first,second\nNone,x\n,y\n", "no usable rows (2 rows read"),
    ],
)
def test_malformed_files_name_the_file_and_line(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(SetupError, match="bad.csv") as error:
        read_chat_csv(path)
    assert expected in str(error.value)


def test_missing_file_says_to_pass_data(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="not found; pass --data"):
        read_chat_csv(tmp_path / "nope.csv")


def test_validation_is_the_last_rows(tmp_path: Path) -> None:
    data = read_chat_csv(write_dialogue_csv(tmp_path / "chat.csv", rows=20))
    train, validation = split_by_position(data, 0.25, tmp_path)
    assert train == data.exchanges[:15] and validation == data.exchanges[15:]


def test_only_the_reply_and_eos_are_scored() -> None:
    tokenizer = build_tokenizer()
    encoder = ExampleEncoder(
        RuDialoGptPrompt.for_markers(tokenizer, FIRST_MARKER, SECOND_MARKER, 3), max_length=64
    )
    example = encoder.encode(pair("акции растут", "купил облигации"))
    first, second = (tokenizer.convert_tokens_to_ids(m) for m in (FIRST_MARKER, SECOND_MARKER))
    ids = list(example.input_ids)
    assert ids[0] == first and ids[-1] == tokenizer.eos_token_id
    reply_start = example.prompt_length
    assert ids[reply_start - 1] == second and ids.count(second) == 2  # a blank bot turn pads it
    assert all(label == IGNORED for label in example.labels[:reply_start])
    assert list(example.labels[reply_start:]) == ids[reply_start:]
    assert tokenizer.decode(ids[reply_start:-1]).strip() == "купил облигации"
    assert (
        encoder.encode(pair("a", "b"), loss_on="all").labels
        == encoder.encode(pair("a", "b")).input_ids
    )


def test_long_exchanges_keep_the_context_end_and_fit() -> None:
    encoder = ExampleEncoder(
        RuDialoGptPrompt.for_markers(build_tokenizer(), FIRST_MARKER, SECOND_MARKER, 3),
        max_length=16,
    )
    example = encoder.encode(pair("акции растут " * 20, "да"))
    assert len(example) == 16 and example.input_ids[-1] == encoder.eos_id


def test_padding_is_never_scored() -> None:
    encoder = ExampleEncoder(
        RuDialoGptPrompt.for_markers(build_tokenizer(), FIRST_MARKER, SECOND_MARKER, 3),
        max_length=64,
    )
    short, long = (
        encoder.encode(pair("да", "нет")),
        encoder.encode(pair("привет как дела", "спасибо пока")),
    )
    input_ids, attention, labels = pad_batch([short, long], pad_id=encoder.eos_id)
    assert input_ids.shape[1] == len(long)  # dynamic: as long as the longest, no fixed 300
    assert attention[0].sum() == len(short)
    assert (labels[0, len(short) :] == IGNORED).all()


def test_batch_plans_are_seeded_complete_and_grouped_by_length() -> None:
    lengths = [(i * 7) % 50 + 5 for i in range(300)]
    plan = plan_batches(lengths, 10, seed=1, epoch=2)
    assert plan == plan_batches(lengths, 10, seed=1, epoch=2)
    assert plan != plan_batches(lengths, 10, seed=1, epoch=3)
    assert sorted(i for batch in plan for i in batch) == list(range(300))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in plan) / len(plan)
    assert spread < 10  # random batches would spread over ~45


def test_config_yml_training_section_equals_the_schema_defaults() -> None:
    shipped = yaml.safe_load((Path(__file__).parents[1] / "config.yml").read_text(encoding="utf-8"))
    assert shipped["training"] == TrainingSettings().model_dump()
