"""The composition root: the one module that imports adapters and wires them to the domain."""
from __future__ import annotations

from collections.abc import Iterator

from dependency_injector import containers, providers

from adapters.console_user_channel import ConsoleUserChannel
from adapters.memory_dialogue_store import InMemoryDialogueStore
from adapters.model_loading import load_model_and_tokenizer
from adapters.sqlite_dialogue_store import open_sqlite_dialogue_store
from domain.errors import SetupError
from domain.service import DialoguePolicy, DialogueService
from entrypoints.settings import Settings


def _open_local_generator(**settings) -> Iterator:
    # torch and transformers load only when the local backend is chosen, so a bot host needs neither
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ModuleNotFoundError as error:
        raise SetupError(f"generator.backend 'local' needs the {error.name} package; install the model extra "
                         "(pip install -e '.[model]') or pick another generator.backend") from None
    from adapters.torch_reply_generator import open_torch_reply_generator

    yield from open_torch_reply_generator(**settings)


def _telegram_application(**settings):
    # python-telegram-bot loads only for `tinktalker bot`, so other hosts need not install the bot extra
    from adapters.telegram_application import build_telegram_application

    return build_telegram_application(**settings)


def _telegram_channel(**settings):
    from adapters.telegram_user_channel import TelegramUserChannel

    return TelegramUserChannel(**settings)


class Container(containers.DeclarativeContainer):
    config = providers.Configuration(strict=True)

    local_generator = providers.Resource(
        _open_local_generator,
        name_or_path=config.model.name_or_path,
        device=config.model.device,
        dtype=config.model.dtype,
        local_files_only=config.model.local_files_only,
        decoding=config.generation,
        markers=providers.Dict(first=config.prompt.first_marker, second=config.prompt.second_marker),
        pad_to_messages=config.prompt.pad_to_messages,
    )
    reply_generator = providers.Selector(config.generator.backend, local=local_generator)

    dialogue_store = providers.Selector(
        config.store.backend,
        sqlite=providers.Resource(open_sqlite_dialogue_store, path=config.store.sqlite_path),
        memory=providers.Singleton(InMemoryDialogueStore),
    )

    dialogue_policy = providers.Singleton(
        DialoguePolicy,
        context_size=config.dialogue.context_size,
        control_fragments=config.dialogue.control_fragments,
        fallback_reply=config.dialogue.fallback_reply,
        unavailable_reply=config.dialogue.unavailable_reply,
        reply_timeout_s=config.dialogue.reply_timeout_s,
    )

    console_channel = providers.Factory(ConsoleUserChannel)  # chat passes its output stream

    # `tinktalker train` loads its base model through the same loader (torch is imported only when called)
    model_loader = providers.Object(load_model_and_tokenizer)

    # Each entrypoint passes its own channel: container.dialogue_service(channel=...)
    dialogue_service = providers.Factory(
        DialogueService, generator=reply_generator, store=dialogue_store, policy=dialogue_policy,
    )

    # The bot's token comes from the environment, never from config: `tinktalker bot` overrides this.
    telegram_token = providers.Dependency(instance_of=str)
    telegram_application = providers.Singleton(
        _telegram_application,
        token=telegram_token,
        api_base_url=config.bot.api_base_url,
        max_concurrent_updates=config.bot.max_concurrent_updates,
        rate_limit_retries=config.bot.rate_limit_retries,
    )
    telegram_channel = providers.Singleton(
        _telegram_channel, bot=telegram_application.provided.bot, typing_interval_s=config.bot.typing_interval_s,
    )


def make_container(settings: Settings) -> Container:
    container = Container()
    container.config.from_dict(settings.model_dump())
    return container
