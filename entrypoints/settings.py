"""The configuration schema: every key, its type and its default (config.yml documents the same)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSettings(Section):
    name_or_path: str = "tinkoff-ai/ruDialoGPT-medium"
    device: str = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    local_files_only: bool = False
    engine: Literal["auto", "torch", "ctranslate2", "continuous"] = "auto"
    quantization: Literal[
        "auto",
        "int8",
        "int8_float32",
        "int8_float16",
        "int8_bfloat16",
        "int16",
        "float16",
        "bfloat16",
        "float32",
    ] = "auto"
    threads: int = Field(0, ge=0)
    parallel_batches: int = Field(0, ge=0)
    cache_dir: str | None = None


class ContinuousSettings(Section):
    """The continuous engine's KV cache: its memory is fixed at start by these two numbers."""

    max_sequences: int = Field(64, ge=1)
    sequence_tokens: int = Field(256, ge=2)
    # auto = model.dtype's rule (bfloat16 where the CPU multiplies it natively, else float32)
    matrices: Literal["auto", "int8", "bfloat16", "float32"] = "auto"


class GenerationSettings(Section):
    top_k: int = Field(10, ge=0)
    top_p: float = Field(0.95, gt=0, le=1)
    num_beams: int = Field(3, ge=1)
    do_sample: bool = True
    no_repeat_ngram_size: int = Field(2, ge=0)
    temperature: float = Field(1.2, gt=0)
    repetition_penalty: float = Field(1.2, gt=0)
    length_penalty: float = 1.0
    max_new_tokens: int = Field(40, ge=1)
    min_new_tokens: int = Field(0, ge=0)


class PromptSettings(Section):
    """The one source of the turn markers: the prompt adapter gets them from here."""

    first_marker: str = "@@ПЕРВЫЙ@@"
    second_marker: str = "@@ВТОРОЙ@@"
    pad_to_messages: int = Field(3, ge=1)


class DialogueSettings(Section):
    context_size: int = Field(3, ge=1)
    # besides the prompt markers, which are always removed
    control_fragments: list[str] = ["</s>", "<|endoftext|>"]
    fallback_reply: str = "Хм, даже не знаю, что сказать. А что думаешь ты?"
    unavailable_reply: str = "Извините, я сейчас не могу ответить. Попробуйте чуть позже."
    reply_timeout_s: float | None = Field(120.0, gt=0)


class HttpGeneratorSettings(Section):
    base_url: str = "http://127.0.0.1:8000"
    protocol: Literal["openai", "completions", "answer"] = "openai"
    model: str = "tinktalker"
    connect_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(60.0, gt=0)
    deadline_s: float = Field(120.0, gt=0)
    max_retries: int = Field(3, ge=0)
    backoff_s: float = Field(0.5, ge=0)
    extensions: list[Literal["top_k", "repetition_penalty", "min_tokens"]] = []


class GeneratorSettings(Section):
    backend: Literal["local", "http"] = "local"
    http: HttpGeneratorSettings = HttpGeneratorSettings()


class StoreSettings(Section):
    backend: Literal["sqlite", "memory"] = "sqlite"
    sqlite_path: str = "tinktalker.sqlite3"
    sqlite_busy_timeout_s: float = Field(5.0, gt=0)


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"


class WebhookSettings(Section):
    public_url: str = ""
    listen: str = "0.0.0.0"
    port: int = Field(8443, ge=1, le=65535)
    path: str = "telegram"
    max_body_bytes: int = Field(1_048_576, ge=1024)
    body_timeout_s: float = Field(10.0, gt=0)


class BotTexts(Section):
    start: str = (
        "Привет! Я ТинькТокер: болтаю о чём угодно, "
        "а больше всего люблю поговорить об инвестициях. "
        "Напиши мне что-нибудь!"
    )
    help: str = (
        "Просто напиши мне, и я отвечу. /reset начинает разговор заново. "
        "В группе я отвечаю, когда меня упоминают, отвечают на моё сообщение или пишут /ask вопрос."
        " /price SBER или /price сбер — котировка с Мосбиржи."
    )
    reset: str = "Хорошо, начнём с чистого листа."
    non_text: str = "Я понимаю только текст. Напиши мне словами, пожалуйста."
    denied: str = "Извините, этот бот доступен только приглашённым собеседникам."
    start_command: str = "Поздороваться"
    help_command: str = "Что я умею"
    reset_command: str = "Забыть наш разговор"
    ask_command: str = "Спросить бота (удобно в группах)"
    slow_down: str = "Не так быстро, пожалуйста: я не успеваю отвечать. Подождите минутку."
    price_command: str = "Котировка акции на Мосбирже"
    price_usage: str = (
        "Напишите тикер или название акции: /price SBER, /price сбер, /price sber gazp"
    )
    price_header: str = "Мосбиржа, данные с задержкой около 15 минут:"
    price_no_trades_today: str = "сегодня сделок ещё не было, цена закрытия {date}"
    price_time_zone: str = "МСК"
    price_not_found: str = "«{query}»: такой акции на Мосбирже не нашёл."
    price_similar: str = "Похожие: {matches}."
    price_unavailable: str = "Котировки сейчас недоступны, попробуйте чуть позже."
    price_unavailable_one: str = "{query}: котировка сейчас недоступна."


class BotSettings(Section):
    api_base_url: str = "https://api.telegram.org/bot"
    mode: Literal["polling", "webhook"] = "polling"
    polling_timeout_s: int = Field(30, ge=0, le=50)
    webhook: WebhookSettings = WebhookSettings()
    group_mode: Literal["addressed", "every_message", "ignore"] = "addressed"
    allowed_user_ids: list[int] = []
    allowed_chat_ids: list[int] = []
    when_denied: Literal["reply", "silence"] = "reply"
    max_concurrent_updates: int = Field(256, ge=1)
    typing_interval_s: float = Field(4.0, gt=0)
    rate_limit_retries: int = Field(3, ge=0)
    send_retries: int = Field(5, ge=0)
    send_backoff_s: float = Field(2.0, ge=0)
    backlog_max_age_s: float | None = Field(3600.0, gt=0)
    reply_threading: Literal["groups", "always", "never"] = "groups"
    user_messages_per_minute: int = Field(20, ge=0)
    stream_drafts: bool = True
    draft_interval_s: float = Field(0.4, ge=0.1)
    texts: BotTexts = BotTexts()


class MarketSettings(Section):
    enabled: bool = True
    iss_url: str = "https://iss.moex.com/iss"
    timeout_s: float = Field(5.0, gt=0)
    cache_s: float = Field(60.0, ge=0)


# The learning rate when none is given. Head mode trains one linear layer on frozen features,
# which barely moves at 5e-5 (bench/results/training_defaults.md: perplexity 916 -> 880 on the
# sample chat, 916 -> 10.6 at 1e-2); tied and full move the whole model, where 5e-5 is the usual
# fine-tuning rate.
DEFAULT_LEARNING_RATES = {"head": 1e-2, "tied": 5e-5, "full": 5e-5}


class TrainingSettings(Section):
    data: str | None = None
    base: str | None = None
    output: str | None = None
    mode: Literal["head", "tied", "full"] = "head"
    loss_on: Literal["reply", "all"] = "reply"
    limit: int | None = Field(None, ge=1)
    epochs: int = Field(3, ge=1)
    batch_size: int = Field(16, ge=1)
    learning_rate: float | None = Field(None, gt=0)  # None: DEFAULT_LEARNING_RATES of the mode
    weight_decay: float = Field(0.0, ge=0)
    validation_fraction: float = Field(0.05, gt=0, lt=1)
    max_length: int = Field(300, ge=8)
    cache_hidden_states: bool = True
    checkpoint_every: int = Field(500, ge=0)
    keep_checkpoints: int = Field(2, ge=1)
    seed: int = 42
    plateau_factor: float = Field(0.5, gt=0, lt=1)
    plateau_patience: int = Field(0, ge=0)
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    gap_minutes: float = Field(10.0, gt=0, allow_inf_nan=False)
    evaluation_samples: int = Field(16, ge=1)


class BatchingSettings(Section):
    max_batch_size: int = Field(32, ge=1)
    max_wait_s: float = Field(0.005, ge=0)
    max_queue: int = Field(64, ge=1)
    refill_wait_s: float = Field(0.05, ge=0)
    max_in_flight: int = Field(0, ge=0)


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    model_id: str = "tinktalker"
    request_timeout_s: float = Field(60.0, gt=0)
    max_body_bytes: int = Field(65536, ge=1024)
    max_messages: int = Field(16, ge=1)
    max_message_chars: int = Field(2000, ge=1)
    max_prompt_tokens: int = Field(1024, ge=1)
    max_tokens: int = Field(256, ge=1)
    max_n: int = Field(4, ge=1)
    idle_timeout_s: float = Field(15.0, gt=0)
    header_timeout_s: float = Field(10.0, gt=0)
    max_connections: int = Field(1000, ge=1)


class Settings(Section):
    model: ModelSettings = ModelSettings()
    continuous: ContinuousSettings = ContinuousSettings()
    generation: GenerationSettings = GenerationSettings()
    prompt: PromptSettings = PromptSettings()
    dialogue: DialogueSettings = DialogueSettings()
    generator: GeneratorSettings = GeneratorSettings()
    store: StoreSettings = StoreSettings()
    logging: LoggingSettings = LoggingSettings()
    bot: BotSettings = BotSettings()
    market: MarketSettings = MarketSettings()
    training: TrainingSettings = TrainingSettings()
    batching: BatchingSettings = BatchingSettings()
    server: ServerSettings = ServerSettings()
