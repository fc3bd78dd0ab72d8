"""`tinktalker bot`: the Telegram bot's run loop, its handlers, who it answers, and log
redaction."""
