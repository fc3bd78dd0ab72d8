"""Adapters: the technologies behind the ports. Only the container imports these."""
