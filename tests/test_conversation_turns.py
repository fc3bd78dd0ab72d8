"""ConversationTurns: one lock per conversation, taken before a shared slot."""

from __future__ import annotations

import asyncio

from tinktalker.domain.dialogue import Conversation as C
from tinktalker.domain.turns import ConversationTurns


async def test_a_conversation_with_a_backlog_holds_one_slot_and_the_others_pass_it():
    turns = ConversationTurns(slots=2)
    release, order = asyncio.Event(), []

    async def busy(n: int) -> None:
        async with turns.turn(C("group")):
            order.append(f"group {n}")
            await release.wait()

    backlog = [asyncio.create_task(busy(n)) for n in range(10)]
    await asyncio.sleep(0)  # every group update is waiting in its line now

    async def private() -> None:
        async with turns.turn(C("private")):  # the second slot at once: the group holds only one
            order.append("private")

    await asyncio.wait_for(private(), 5)  # slots taken before the lock would leave it waiting
    release.set()
    await asyncio.gather(*backlog)
    assert order == ["group 0", "private", *(f"group {n}" for n in range(1, 10))]
    assert len(turns) == 0  # idle conversations leave nothing behind


async def test_a_turn_already_held_by_this_task_is_entered_again_without_waiting():
    turns = ConversationTurns(slots=1)
    entered = []

    async def nested() -> None:
        async with turns.turn(C("c")):
            async with turns.turn(C("c")):  # the dialogue service inside the bot's turn
                entered.append(True)

    await asyncio.wait_for(nested(), 5)
    assert entered == [True]


async def test_another_task_waits_for_the_turn_and_the_slot():
    turns = ConversationTurns(slots=1)
    inside, order = asyncio.Event(), []

    async def first() -> None:
        async with turns.turn(C("a")):
            inside.set()
            await asyncio.sleep(0.01)
            order.append("a")

    async def second() -> None:
        await inside.wait()
        async with turns.turn(C("b")):  # another conversation, but the only slot is taken
            order.append("b")

    await asyncio.gather(first(), second())
    assert order == ["a", "b"]
