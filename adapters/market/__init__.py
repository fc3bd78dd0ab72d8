"""Market data adapters: the Moscow Exchange's ISS."""
