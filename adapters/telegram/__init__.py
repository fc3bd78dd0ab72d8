"""Telegram through python-telegram-bot: the Application and the UserChannel that sends replies."""
