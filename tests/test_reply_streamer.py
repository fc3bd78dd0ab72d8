"""RowStreamer: pieces that add up to the final reply, never the start of a marker or a half-written
character."""

import torch

from tinktalker.adapters.model.reply_streamer import RowStreamer

STOP_ID = 0


def visible(ids: list[int]) -> tuple[str, bool]:
    """ids are code points; 0 ends the reply; the text is cut at the marker '@@X@@'."""
    stopped = STOP_ID in ids
    text = "".join(map(chr, ids[: ids.index(STOP_ID)] if stopped else ids))
    if "@@X@@" in text:
        text, stopped = text.split("@@X@@", 1)[0], True
    return text, stopped


def stream(rows: list[str]) -> list[list[str]]:
    got: list[list[str]] = [[] for _ in rows]
    streamer = RowStreamer([got[i].append for i in range(len(rows))], visible, ["@@X@@"])
    streamer.put(torch.tensor([[5, 5]] * len(rows)))  # the prompt, ignored
    width = max(len(r) for r in rows)
    for step in range(width):
        streamer.put(torch.tensor([ord(r[step]) if step < len(r) else STOP_ID for r in rows]))
    streamer.end()
    return got


def test_pieces_add_up_to_the_reply_and_hold_back_a_possible_marker():
    got = stream(["  hi there @@X@@ next turn", "ok @@Y", "a\ufffdb "])
    assert "".join(got[0]) == "hi there" and not any("@" in piece for piece in got[0])
    assert "".join(got[1]) == "ok @@Y"  # not the marker after all: sent once the reply ended
    assert (
        "".join(got[2]) == "a\ufffdb" and got[2][0] == "a"
    )  # U+FFFD waited for the next character


def test_a_row_without_a_listener_is_left_alone():
    seen: list[str] = []
    streamer = RowStreamer([None, seen.append], visible, [])
    streamer.put(torch.tensor([ord("a"), ord("b")]))
    assert seen == ["b"]
