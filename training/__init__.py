"""Head-only fine-tuning from a chat CSV (see the training issue)."""
