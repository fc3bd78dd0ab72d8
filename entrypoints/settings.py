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


class PromptSettings(Section):
    first_marker: str = "@@ПЕРВЫЙ@@"
    second_marker: str = "@@ВТОРОЙ@@"
    pad_to_messages: int = Field(3, ge=1)


class DialogueSettings(Section):
    context_size: int = Field(3, ge=1)
    control_fragments: list[str] = ["@@ПЕРВЫЙ@@", "@@ВТОРОЙ@@", "</s>", "<|endoftext|>"]
    fallback_reply: str = "Хм, даже не знаю, что сказать. А что думаешь ты?"
    unavailable_reply: str = "Извините, я сейчас не могу ответить. Попробуйте чуть позже."
    reply_timeout_s: float | None = Field(120.0, gt=0)


class HttpGeneratorSettings(Section):
    base_url: str = "http://127.0.0.1:8000"
    protocol: Literal["openai", "answer"] = "openai"
    model: str = "tinktalker"
    connect_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(60.0, gt=0)
    deadline_s: float = Field(120.0, gt=0)
    max_retries: int = Field(3, ge=0)
    backoff_s: float = Field(0.5, ge=0)


class GeneratorSettings(Section):
    backend: Literal["local", "http"] = "local"
    http: HttpGeneratorSettings = HttpGeneratorSettings()


class StoreSettings(Section):
    backend: Literal["sqlite", "memory"] = "sqlite"
    sqlite_path: str = "tinktalker.sqlite3"


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"


class BatchingSettings(Section):
    max_batch_size: int = Field(8, ge=1)
    max_wait_s: float = Field(0.005, ge=0)
    max_queue: int = Field(64, ge=1)


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


class Settings(Section):
    model: ModelSettings = ModelSettings()
    generation: GenerationSettings = GenerationSettings()
    prompt: PromptSettings = PromptSettings()
    dialogue: DialogueSettings = DialogueSettings()
    generator: GeneratorSettings = GeneratorSettings()
    store: StoreSettings = StoreSettings()
    logging: LoggingSettings = LoggingSettings()
    batching: BatchingSettings = BatchingSettings()
    server: ServerSettings = ServerSettings()
