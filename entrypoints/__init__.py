"""Entrypoints: the command line, and the container that wires adapters to the domain."""
