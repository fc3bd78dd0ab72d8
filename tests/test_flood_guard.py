"""The flood guard on its own: per sender, a sliding minute, one warning per burst."""

from __future__ import annotations

from tinktalker.domain.flood_guard import FloodGuard, Verdict

A, W, D = Verdict.ANSWER, Verdict.WARN, Verdict.DROP


def test_over_the_limit_one_warning_then_drops_and_other_senders_are_untouched():
    guard = FloodGuard(per_minute=2)
    assert [guard.check("dave", t) for t in (0, 1, 2, 3, 4)] == [A, A, W, D, D]
    assert guard.check("erin", 4) == A


def test_the_window_slides_and_a_new_burst_is_warned_again():
    guard = FloodGuard(per_minute=2)
    assert [guard.check("dave", t) for t in (0, 30, 40)] == [A, A, W]
    assert guard.check("dave", 61) == A  # the message at 0 s has left the minute
    assert [guard.check("dave", t) for t in (62, 63)] == [W, D]


def test_zero_means_no_limit():
    guard = FloodGuard(per_minute=0)
    assert {guard.check("dave", 0) for _ in range(1000)} == {A}
