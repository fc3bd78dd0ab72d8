"""Replies shown as they are written (drafts), on fakes of the ports."""

from __future__ import annotations

from tests.fakes import (
    FakeDialogueStore,
    FakeDraftChannel,
    FakeReplyGenerator,
    FakeUserChannel,
    reply_rules,
)
from tinktalker.domain.dialogue import Conversation as C
from tinktalker.domain.replies import ReplyService
from tinktalker.domain.service import DialoguePolicy, DialogueService, Drafting
from tinktalker.domain.turns import ConversationTurns


def drafting_service(generator: FakeReplyGenerator, interval_s: float = 0.0):
    drafts, channel = FakeDraftChannel(), FakeUserChannel()
    service = DialogueService(
        ReplyService(generator, None, reply_rules()),
        FakeDialogueStore(),
        channel,
        DialoguePolicy(unavailable_reply="sorry"),
        ConversationTurns(slots=None),
        Drafting(channel=drafts, interval_s=interval_s),
    )
    return service, drafts, channel


async def test_a_private_chat_sees_the_reply_grow_then_gets_it_as_a_message():
    service, drafts, channel = drafting_service(FakeReplyGenerator(piece_chars=4))
    await service.handle(C("7"), "рынок")
    texts = [text for _, _, text in drafts.drafts]
    assert texts == ["repl", "reply to", "reply to рын"]  # the last piece comes as the message
    assert len({draft_id for _, draft_id, _ in drafts.drafts}) == 1
    assert channel.sent == [(C("7"), "reply to рынок")]


async def test_each_reply_is_a_new_draft():
    service, drafts, _ = drafting_service(FakeReplyGenerator())
    await service.handle(C("7"), "one")
    await service.handle(C("7"), "two")
    ids = [draft_id for _, draft_id, _ in drafts.drafts]
    assert 0 not in ids and ids[0] != ids[-1]


async def test_drafts_come_no_more_often_than_the_interval():
    service, drafts, channel = drafting_service(FakeReplyGenerator(piece_chars=2), interval_s=3600)
    await service.handle(C("7"), "рынок")
    assert [text for _, _, text in drafts.drafts] == ["re"]  # the first, then only the message
    assert channel.sent == [(C("7"), "reply to рынок")]


async def test_a_group_gets_no_draft_and_the_plain_reply():
    generator = FakeReplyGenerator()
    service, drafts, channel = drafting_service(generator)
    await service.handle(C("-100"), "рынок")
    assert drafts.drafts == [] and generator.closed_streams == 0  # not even streamed
    assert channel.sent == [(C("-100"), "reply to рынок")]


async def test_a_generator_that_cannot_stream_shows_no_draft():
    class Beams(FakeReplyGenerator):  # beams: only the replies, at the end
        async def stream_batch(self, contexts, options=None):
            yield await self.generate_batch(contexts, options)

    service, drafts, channel = drafting_service(Beams())
    await service.handle(C("7"), "рынок")
    assert drafts.drafts == []
    assert channel.sent == [(C("7"), "reply to рынок")]


async def test_markers_never_show_in_a_draft():
    generator = FakeReplyGenerator(lambda context: "да @@ПЕРВЫЙ@@ нет", piece_chars=1)
    service, drafts, channel = drafting_service(generator)
    await service.handle(C("7"), "рынок")
    assert all("@" not in text for _, _, text in drafts.drafts)
    assert channel.sent == [(C("7"), "да нет")]
