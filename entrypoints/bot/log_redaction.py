"""Keeps secrets out of every log line: the Bot API puts the token in each request URL."""

from __future__ import annotations

import logging
from urllib.parse import quote

REDACTED = "<redacted>"
_secrets: set[str] = set()
_formatter = logging.Formatter()


def redact_in_logs(secret: str) -> None:
    """From now on every log record, whichever logger or handler it goes through, has `secret`
    masked."""
    if not secret:
        return
    _secrets.update({secret, quote(secret, safe="")})
    if not getattr(logging.getLogRecordFactory(), "redacts_secrets", False):
        _install_factory()
    # httpx logs every request URL at INFO: noise at best, and the URL carries the token
    logging.getLogger("httpx").setLevel(logging.WARNING)


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _install_factory() -> None:
    make_record = logging.getLogRecordFactory()

    def redacting_factory(*args, **kwargs) -> logging.LogRecord:
        return _redacted(make_record(*args, **kwargs))

    redacting_factory.redacts_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)


def _redacted(record: logging.LogRecord) -> logging.LogRecord:
    # Handlers format later, so the finished message and traceback are frozen here, already masked
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        message = f"{record.msg} {record.args}"
    record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(_formatter.formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record
