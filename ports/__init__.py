"""The domain's needs, as Protocols that adapters implement."""
