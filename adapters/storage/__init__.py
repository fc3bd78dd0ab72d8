"""DialogueStore implementations: a SQLite file, and memory."""
