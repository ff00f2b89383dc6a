"""Secrets, the local API token and request checks."""
