"""The composition root: the one module that imports adapters and wires them to the domain."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from dependency_injector import containers, providers

from tinktalker.adapters.batching_reply_generator import (
    BatchingReplyGenerator,
    open_batching_reply_generator,
)
from tinktalker.adapters.console_user_channel import ConsoleUserChannel
from tinktalker.adapters.market.moex_iss_market_data import open_moex_iss_market_data
from tinktalker.adapters.model.in_process_reply_generator import InProcessReplyGenerator
from tinktalker.adapters.model.llama_cpp_conversion import convert_to_gguf
from tinktalker.adapters.model.loading import load_model_and_tokenizer
from tinktalker.adapters.model.rudialogpt_prompt import PromptMarkers, RuDialoGptPrompt
from tinktalker.adapters.model.serving_folder import write_serving_files
from tinktalker.adapters.model.tokenizer_prompt_meter import TokenizerPromptMeter
from tinktalker.adapters.storage.memory_dialogue_store import InMemoryDialogueStore
from tinktalker.adapters.storage.memory_update_inbox import InMemoryUpdateInbox
from tinktalker.adapters.storage.sqlite_database import open_sqlite_database
from tinktalker.adapters.storage.sqlite_dialogue_store import SqliteDialogueStore
from tinktalker.adapters.storage.sqlite_update_inbox import SqliteUpdateInbox
from tinktalker.domain.durable_inbox import DurableInbox
from tinktalker.domain.errors import SetupError
from tinktalker.domain.quotes import QuoteDesk
from tinktalker.domain.replies import ReplyRules, ReplyService
from tinktalker.domain.service import DialoguePolicy, DialogueService, Drafting
from tinktalker.domain.turns import ConversationTurns
from tinktalker.entrypoints.environment_secrets import read_secrets
from tinktalker.entrypoints.settings import Settings
from tinktalker.ports.draft_channel import DraftChannel
from tinktalker.ports.reply_generator import ReplyGenerator


def _open_local_generator(
    engine: str,
    dtype: str,
    quantization: str,
    threads: int,
    parallel_batches: int,
    cache_dir: str | None,
    continuous: dict,
    **settings,
) -> Iterator:
    # torch and transformers load only when the local backend is chosen, so a bot host needs neither
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ModuleNotFoundError as error:
        raise SetupError(
            f"generator.backend 'local' needs the {error.name} package; install the model extra "
            "(pip install -e '.[model]'), or ask a model server: generator.backend: http "
            "(TINKTALKER__GENERATOR__BACKEND=http)"
        ) from None
    from tinktalker.adapters.model.engine_choice import chosen_engine

    chosen = chosen_engine(engine, settings["device"])
    if chosen == "continuous":
        from tinktalker.adapters.model.continuous.continuous_reply_generator import (
            open_continuous_reply_generator,
        )

        yield from open_continuous_reply_generator(
            dtype=dtype, threads=threads, **continuous, **settings
        )
    elif chosen == "ctranslate2":
        from tinktalker.adapters.model.ctranslate2_reply_generator import (
            open_ctranslate2_reply_generator,
        )

        yield from open_ctranslate2_reply_generator(
            quantization=quantization,
            threads=threads,
            parallel_batches=parallel_batches,
            cache_dir=cache_dir,
            **settings,
        )
    else:
        from tinktalker.adapters.model.torch_reply_generator import open_torch_reply_generator

        yield from open_torch_reply_generator(dtype=dtype, threads=threads, **settings)


def _telegram_application(**settings):
    # python-telegram-bot loads only for `tinktalker bot`, so other hosts need not install the bot
    # extra
    from tinktalker.adapters.telegram.application import build_telegram_application

    return build_telegram_application(**settings)


def _telegram_channel(**settings):
    from tinktalker.adapters.telegram.user_channel import TelegramUserChannel

    return TelegramUserChannel(**settings)


def _telegram_webhook(**settings):
    from tinktalker.adapters.telegram.webhook import TelegramWebhookServer

    return TelegramWebhookServer(**settings)


def _drafting(
    *, enabled: bool, num_beams: int, channel: DraftChannel, interval_s: float
) -> Drafting | None:
    # beams rewrite earlier words until the end, so their replies are not shown as they are written
    return Drafting(channel=channel, interval_s=interval_s) if enabled and num_beams == 1 else None


def _telegram_update_queue(**settings):
    from tinktalker.adapters.telegram.application import AdmittingUpdateQueue

    return AdmittingUpdateQueue(**settings)


async def _open_http_generator(**settings) -> AsyncIterator:
    # the adapter module is imported only when this resource opens, like the torch one
    from tinktalker.adapters.http_reply_generator import open_http_reply_generator

    async with asynccontextmanager(open_http_reply_generator)(**settings) as generator:
        yield generator


def _prompt_meter_of(generator: object) -> TokenizerPromptMeter | None:
    # The in-process model's own prompt; a generator standing in for it (a test's) measures nothing.
    while isinstance(generator, BatchingReplyGenerator):
        generator = generator.inner
    if not isinstance(generator, InProcessReplyGenerator):
        return None
    return TokenizerPromptMeter(generator.prompt, generator.max_positions)


async def _open_batching(
    inner: ReplyGenerator, max_in_flight: int, **settings: Any
) -> AsyncIterator:
    # 0 = as many batches at once as the in-process engine runs side by side (1 elsewhere)
    if not max_in_flight:
        max_in_flight = inner.batches_in_flight if isinstance(inner, InProcessReplyGenerator) else 1
    async with asynccontextmanager(open_batching_reply_generator)(
        inner, max_in_flight=max_in_flight, **settings
    ) as generator:
        yield generator


class Container(containers.DeclarativeContainer):
    config = providers.Configuration(strict=True)
    # Secrets come from the environment only (entrypoints/environment_secrets.py)
    secrets = providers.Singleton(read_secrets)
    prompt_markers = providers.Factory(
        PromptMarkers, first=config.prompt.first_marker, second=config.prompt.second_marker
    )

    local_generator = providers.Resource(
        _open_local_generator,
        engine=config.model.engine,
        name_or_path=config.model.name_or_path,
        device=config.model.device,
        dtype=config.model.dtype,
        quantization=config.model.quantization,
        threads=config.model.threads,
        parallel_batches=config.model.parallel_batches,
        cache_dir=config.model.cache_dir,
        continuous=config.continuous,
        local_files_only=config.model.local_files_only,
        decoding=config.generation,
        markers=prompt_markers,
        pad_to_messages=config.prompt.pad_to_messages,
    )
    http_generator = providers.Resource(
        _open_http_generator,
        base_url=config.generator.http.base_url,
        api_key=secrets.provided.generator_api_key,
        protocol=config.generator.http.protocol,
        model=config.generator.http.model,
        markers=prompt_markers,
        pad_to_messages=config.prompt.pad_to_messages,
        connect_timeout_s=config.generator.http.connect_timeout_s,
        read_timeout_s=config.generator.http.read_timeout_s,
        deadline_s=config.generator.http.deadline_s,
        max_retries=config.generator.http.max_retries,
        backoff_s=config.generator.http.backoff_s,
        decoding=config.generation,
        extensions=config.generator.http.extensions,
    )
    reply_generator = providers.Selector(
        config.generator.backend, local=local_generator, http=http_generator
    )

    # The same generator with micro-batching in front (tinktalker serve uses it; so can an
    # in-process bot).
    batching_reply_generator = providers.Resource(
        _open_batching,
        inner=reply_generator,
        max_in_flight=config.batching.max_in_flight,
        max_batch_size=config.batching.max_batch_size,
        max_wait_s=config.batching.max_wait_s,
        max_queue=config.batching.max_queue,
        refill_wait_s=config.batching.refill_wait_s,
    )

    # One SQLite file holds the history and the bot's inbox; it is checked (intact, writable) when
    # opened.
    sqlite_database = providers.Resource(
        open_sqlite_database,
        path=config.store.sqlite_path,
        busy_timeout_s=config.store.sqlite_busy_timeout_s,
    )
    dialogue_store = providers.Selector(
        config.store.backend,
        sqlite=providers.Singleton(SqliteDialogueStore, database=sqlite_database),
        memory=providers.Singleton(InMemoryDialogueStore),
    )
    update_inbox = providers.Selector(
        config.store.backend,
        sqlite=providers.Singleton(SqliteUpdateInbox, database=sqlite_database),
        memory=providers.Singleton(InMemoryUpdateInbox),
    )

    # Stripped from user text and replies: the prompt's markers, then dialogue.control_fragments
    # (the special tokens; the in-process prompt also drops every special token id of its
    # tokenizer). Not read from a loaded tokenizer, so the policy never waits for, or loads, a
    # model.
    control_fragments = providers.Callable(
        PromptMarkers.control_fragments, prompt_markers, (), config.dialogue.control_fragments
    )

    dialogue_policy = providers.Singleton(
        DialoguePolicy,
        unavailable_reply=config.dialogue.unavailable_reply,
    )
    # The one per-conversation lock (the bot takes it for a whole update, before one of its slots)
    conversation_turns = providers.Singleton(
        ConversationTurns, slots=config.bot.max_concurrent_updates
    )

    console_channel = providers.Factory(ConsoleUserChannel)  # chat passes its output stream

    # `tinktalker train` loads its base model through the same loader (torch is imported only when
    # called)
    model_loader = providers.Object(load_model_and_tokenizer)
    # ...and encodes its exchanges with the chat prompt's own vocabulary, so it learns what serving
    # sends
    prompt_vocabulary = providers.Object(RuDialoGptPrompt.for_markers)
    # `train` and `export` finish a model folder with this: writer(folder, tokenizer) adds the chat
    # template and generation_config.json, so vLLM and friends build the same prompt and stop at the
    # markers
    serving_files_writer = providers.Factory(
        functools.partial,
        write_serving_files,
        markers=prompt_markers,
        pad_to_messages=config.prompt.pad_to_messages,
        context_size=config.dialogue.context_size,
        extra_fragments=config.dialogue.control_fragments,
        decoding=config.generation,
    )
    # `export --gguf`: converter(folder, tokenizer, converter=..., outtype=...) writes a GGUF whose
    # replies end at the markers on llama.cpp
    gguf_converter = providers.Factory(functools.partial, convert_to_gguf, markers=prompt_markers)

    # Conversations (chat, bot) batch concurrent chats on an in-process model; a model server
    # batches itself.
    dialogue_generator = providers.Selector(
        config.generator.backend, local=batching_reply_generator, http=reply_generator
    )

    # Measures prompts with the local model's tokenizer; a remote model measures its own (None
    # here).
    prompt_meter = providers.Selector(
        config.generator.backend,
        local=providers.Factory(_prompt_meter_of, dialogue_generator),
        http=providers.Object(None),
    )

    # The one set of reply rules; conversations and the API differ only in the limits they set.
    dialogue_reply_rules = providers.Singleton(
        ReplyRules,
        context_size=config.dialogue.context_size,
        control_fragments=control_fragments,
        fallback_reply=config.dialogue.fallback_reply,
        timeout_s=config.dialogue.reply_timeout_s,
        max_new_tokens=config.generation.max_new_tokens,
        max_prompt_tokens=None,
    )
    dialogue_replies = providers.Factory(
        ReplyService, generator=dialogue_generator, meter=prompt_meter, rules=dialogue_reply_rules
    )
    # The API keeps its own deadline (server.request_timeout_s, a 504), so no generation timeout
    # here.
    api_reply_rules = providers.Singleton(
        ReplyRules,
        context_size=config.dialogue.context_size,
        control_fragments=control_fragments,
        fallback_reply=config.dialogue.fallback_reply,
        timeout_s=None,
        max_new_tokens=providers.Callable(
            min, config.generation.max_new_tokens, config.server.max_tokens
        ),
        max_prompt_tokens=config.server.max_prompt_tokens,
    )
    api_replies = providers.Factory(
        ReplyService, generator=batching_reply_generator, meter=prompt_meter, rules=api_reply_rules
    )

    # Each entrypoint passes its own channel: container.dialogue_service(channel=...)
    dialogue_service = providers.Factory(
        DialogueService,
        replies=dialogue_replies,
        store=dialogue_store,
        policy=dialogue_policy,
        turns=conversation_turns,
    )

    # Quotes for the bot's /price and cashtags; one HTTP client, closed with the other resources.
    market_data = providers.Resource(
        open_moex_iss_market_data,
        iss_url=config.market.iss_url,
        timeout_s=config.market.timeout_s,
        cache_s=config.market.cache_s,
    )
    quote_desk = providers.Singleton(
        QuoteDesk, market=market_data, deadline_s=config.market.timeout_s
    )

    # The bot's token comes from the environment, never from config: `tinktalker bot` overrides
    # this.
    telegram_token = providers.Dependency(instance_of=str)
    # At-least-once delivery: each update recorded before Telegram is told it arrived; one that
    # cannot be recorded is not confirmed (polling waits, the webhook answers 503), so Telegram
    # sends it again
    durable_inbox = providers.Singleton(
        DurableInbox,
        inbox=update_inbox,
        backlog_max_age_s=config.bot.backlog_max_age_s,
        strict=True,
    )
    telegram_update_queue = providers.Singleton(_telegram_update_queue, inbox=durable_inbox)
    telegram_application = providers.Singleton(
        _telegram_application,
        token=telegram_token,
        api_base_url=config.bot.api_base_url,
        turns=conversation_turns,
        update_queue=telegram_update_queue,
        inbox=durable_inbox,
        rate_limit_retries=config.bot.rate_limit_retries,
    )
    # `tinktalker bot` passes the webhook's secret token (from the environment, or random)
    telegram_webhook = providers.Factory(
        _telegram_webhook,
        bot=telegram_application.provided.bot,
        update_queue=telegram_update_queue,
        listen=config.bot.webhook.listen,
        port=config.bot.webhook.port,
        path=config.bot.webhook.path,
        public_url=config.bot.webhook.public_url,
        max_body_bytes=config.bot.webhook.max_body_bytes,
        body_timeout_s=config.bot.webhook.body_timeout_s,
    )
    telegram_channel = providers.Singleton(
        _telegram_channel,
        bot=telegram_application.provided.bot,
        typing_interval_s=config.bot.typing_interval_s,
        send_retries=config.bot.send_retries,
        send_backoff_s=config.bot.send_backoff_s,
    )
    telegram_drafting = providers.Singleton(
        _drafting,
        enabled=config.bot.stream_drafts,
        num_beams=config.generation.num_beams,
        channel=telegram_channel,
        interval_s=config.bot.draft_interval_s,
    )


def make_container(settings: Settings) -> Container:
    container = Container()
    container.config.from_dict(settings.model_dump())
    return container
