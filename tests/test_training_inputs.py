"""The other inputs: CSVs with `;` or tabs or more columns, JSON Lines, and `tinktalker dataset`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devkit import schema_defaults as defaults
from tinktalker.domain.errors import SetupError
from tinktalker.entrypoints.cli import main
from tinktalker.training.chat_files import read_chat_data
from tinktalker.training.exchanges import Exchange

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RULES = defaults.data_rules()


@pytest.mark.parametrize("separator, named", [(";", "semicolon"), ("\t", "tab"), (",", None)])
def test_a_csv_is_read_with_the_separator_its_header_uses(tmp_path, separator, named) -> None:
    path = tmp_path / "chat.csv"
    path.write_text(f"message{separator}reply\nкупил{separator}зачем?\n", encoding="utf-8")
    data = read_chat_data(path, RULES)
    assert data.exchanges == [Exchange(("купил",), "зачем?")]
    assert data.kind == ("CSV" if named is None else f"CSV ({named}-separated)")


def test_more_columns_give_a_longer_context(tmp_path) -> None:
    path = tmp_path / "chat.csv"
    path.write_text(
        "m1,m2,m3,reply\nпривет,привет,как рынок?,падает\n,,акции?,растут\n,x,,y\n",
        encoding="utf-8",
    )
    data = read_chat_data(path, defaults.data_rules(context_size=2))
    assert data.exchanges == [
        Exchange(("привет", "как рынок?"), "падает"),
        Exchange(("акции?",), "растут"),
    ]
    assert data.skipped == {"with the reply or the answered message empty": 1}


def test_json_lines_from_dataset_read_back_as_the_same_exchanges(tmp_path, capsys) -> None:
    output = tmp_path / "examples.jsonl"
    source = EXAMPLES / "investors_chat.json"
    assert main(["dataset", "--data", str(source), "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    lines = output.read_text(encoding="utf-8").splitlines()
    assert f"{len(lines)} examples written to {output}" in printed
    assert (
        "messages," in printed
        and "service messages" in printed
        and "answering themselves" in printed
    )
    first = json.loads(lines[0])
    assert set(first) == {"context", "reply"} and isinstance(first["context"], list)
    assert read_chat_data(output, RULES).exchanges == read_chat_data(source, RULES).exchanges
    assert read_chat_data(output, RULES).kind == "JSON Lines"


def test_the_sample_csv_holds_the_sample_exports_exchanges() -> None:
    export = read_chat_data(EXAMPLES / "investors_chat.json", RULES)
    table = read_chat_data(EXAMPLES / "investors_chat.csv", RULES)
    assert 250 <= export.read <= 350 and table.used == export.used >= 100
    assert [e.context[-1] for e in export.exchanges] == [e.context[0] for e in table.exchanges]


def test_a_broken_json_line_names_the_line(tmp_path) -> None:
    path = tmp_path / "examples.jsonl"
    path.write_text('{"context": ["a"], "reply": "b"}\n{"context": "a"}\n', encoding="utf-8")
    with pytest.raises(SetupError, match="line 2: not a"):
        read_chat_data(path, RULES)


@pytest.mark.parametrize(
    "content, expected",
    [
        ("{}", "is JSON but no Telegram export"),
        ('{"messages": [{"id": 1, "type": "message", "text": "a"', "truncated Telegram export"),
        ('{"messages": [{"id": 1, "type": "service"}]}', "no usable exchange"),
    ],
)
def test_dataset_bad_input_is_one_line_exit_2(tmp_path, capsys, content, expected) -> None:
    data, output = tmp_path / "result.json", tmp_path / "examples.jsonl"
    data.write_text(content, encoding="utf-8")
    assert main(["dataset", "--data", str(data), "--output", str(output)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and expected in error and error.startswith("tinktalker: error:")
    assert not output.exists() and not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("gap", ["ten", "0", "-5", "inf"])
def test_an_invalid_gap_is_one_line_exit_2(tmp_path, capsys, gap) -> None:
    source = str(EXAMPLES / "investors_chat.json")
    assert main(["dataset", "--data", source, "--output", str(tmp_path / "x"), "--gap", gap]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "training gap_minutes (--gap or training.gap_minutes" in error


def test_a_longer_gap_links_more_messages(tmp_path, capsys) -> None:
    source = str(EXAMPLES / "investors_chat.json")
    counts = []
    for gap in ("1", "10"):
        assert (
            main(["dataset", "--data", source, "--output", str(tmp_path / gap), "--gap", gap]) == 0
        )
        counts.append(len((tmp_path / gap).read_text(encoding="utf-8").splitlines()))
    assert counts[0] < counts[1]
