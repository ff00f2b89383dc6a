"""Configured providers, kept in the engine's database (their keys live in the key store)."""

from __future__ import annotations

import time

from engine.errors import InvalidInput, NotFound
from engine.memory.database import Database
from engine.remote.presets import PRESETS
from engine.schemas import Provider


def from_preset(provider: Provider) -> Provider:
    """Fill the fields a preset knows and the request left out."""
    if provider.preset is None:
        return provider
    preset = PRESETS.get(provider.preset)
    if preset is None:
        raise InvalidInput(
            f"Unknown preset '{provider.preset}'. Presets: {', '.join(sorted(PRESETS))}.",
            param="preset",
        )
    given = provider.model_dump(exclude_unset=True)
    return Provider.model_validate({**preset, **given})


class ProviderStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, provider: Provider) -> Provider:
        self._db.execute(
            "INSERT INTO providers (name, config, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET config = excluded.config",
            (provider.name, provider.model_dump_json(), time.time()),
        )
        return provider

    def all(self) -> list[Provider]:
        rows = self._db.query("SELECT config FROM providers ORDER BY name")
        return [Provider.model_validate_json(r["config"]) for r in rows]

    def get(self, name: str) -> Provider:
        rows = self._db.query("SELECT config FROM providers WHERE name = ?", (name,))
        if not rows:
            raise NotFound(f"No provider named '{name}'.", param="provider")
        return Provider.model_validate_json(rows[0]["config"])

    def remove(self, name: str) -> None:
        if not self._db.execute("DELETE FROM providers WHERE name = ?", (name,)):
            raise NotFound(f"No provider named '{name}'.", param="provider")
