"""The python-telegram-bot Application: Bot API client, rate limiter and concurrent update handling."""
from __future__ import annotations

from telegram.ext import AIORateLimiter, Application, ApplicationBuilder


def build_telegram_application(token: str, api_base_url: str, max_concurrent_updates: int,
                               rate_limit_retries: int) -> Application:
    """An Application that talks to `api_base_url` (token appended, or put where "{token}" stands),
    handles up to `max_concurrent_updates` at once, keeps to Telegram's flood limits and, on a 429,
    waits the server's retry_after and retries up to `rate_limit_retries` times. No I/O happens here."""
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(api_base_url)
        .concurrent_updates(max_concurrent_updates)
        .rate_limiter(AIORateLimiter(max_retries=rate_limit_retries))
        .build()
    )
