"""Hearth's local engine: an OpenAI-compatible server for on-device models."""

__version__ = "0.2.0"
