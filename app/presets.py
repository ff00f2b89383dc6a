"""Parameter presets: the built-in scenarios and the user's own, kept in a small JSON file."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

OVERFLOW_POLICIES = ("summarize", "rolling_window", "stop")


@dataclass
class Preset:
    name: str
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 512
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    system_prompt: str = ""
    overflow_policy: str = "summarize"
    builtin: bool = field(default=False, compare=False)

    def sampling(self) -> dict[str, Any]:
        """The per-reply parameters the engine takes."""
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "frequency_penalty": self.frequency_penalty,
            "presence_penalty": self.presence_penalty,
        }


BUILTIN = (
    Preset("Balanced", builtin=True),
    Preset(
        "Customer service",
        temperature=0.3,
        top_p=0.9,
        max_tokens=400,
        presence_penalty=0.2,
        system_prompt="You are a friendly, patient customer service agent. Answer briefly and "
        "politely, ask for details when the question is unclear, and never invent policies.",
        builtin=True,
    ),
    Preset(
        "Writing",
        temperature=0.9,
        top_p=0.95,
        max_tokens=1024,
        frequency_penalty=0.3,
        presence_penalty=0.3,
        system_prompt="You are a thoughtful writing partner. Write vivid, clear prose and keep "
        "the author's voice.",
        builtin=True,
    ),
    Preset(
        "Coding",
        temperature=0.2,
        top_p=0.9,
        max_tokens=1024,
        system_prompt="You are a careful senior programmer. Answer with working code in fenced "
        "blocks and explain briefly.",
        builtin=True,
    ),
    Preset(
        "Data analysis",
        temperature=0.1,
        top_p=0.9,
        max_tokens=800,
        system_prompt="You are a precise data analyst. Show your reasoning step by step, state "
        "assumptions, and present numbers in tables.",
        overflow_policy="rolling_window",
        builtin=True,
    ),
)


class PresetStore:
    """Built-in presets first, then the user's (saved atomically; a damaged file is ignored)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def user_presets(self) -> list[Preset]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [Preset(**{**item, "builtin": False}) for item in raw]
        except (OSError, ValueError, TypeError):
            return []

    def all(self) -> list[Preset]:
        return [*BUILTIN, *self.user_presets()]

    def save(self, preset: Preset) -> None:
        if any(p.name == preset.name for p in BUILTIN):
            raise ValueError(f"'{preset.name}' is a built-in preset; choose another name.")
        kept = [p for p in self.user_presets() if p.name != preset.name] + [preset]
        self._write(kept)

    def delete(self, name: str) -> None:
        self._write([p for p in self.user_presets() if p.name != name])

    def _write(self, presets: list[Preset]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        items = [{k: v for k, v in asdict(p).items() if k != "builtin"} for p in presets]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(items, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.path)


def default_presets_path(env: dict[str, str] | None = None) -> Path:
    """Where the user's presets live: beside the engine's config, under HEARTH_HOME if set."""
    env = dict(os.environ if env is None else env)
    home = env.get("HEARTH_HOME")
    base = Path(home) / "config" if home else Path(platformdirs.user_config_dir("hearth"))
    return base / "desktop" / "presets.json"
