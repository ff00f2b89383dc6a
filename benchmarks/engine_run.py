"""Starting a real engine for a benchmark, with its own home folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from app.engine_client.launcher import EngineProcess
from engine.security.api_token import ensure_api_token
from engine.settings import resolve_dirs


def start_engine(**settings: str) -> tuple[EngineProcess, str, str]:
    """(process, url, token) of an engine on a free loopback port."""
    home = Path(tempfile.mkdtemp(prefix="hearth-bench-"))
    token = ensure_api_token(resolve_dirs(home).token_file)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(
        HEARTH_HOME=str(home),
        HEARTH_LOG_LEVEL="warning",
        HEARTH_KEYSTORE="file",
        **{f"HEARTH_{k.upper()}": v for k, v in settings.items()},
    )
    engine = EngineProcess(env=env)
    return engine, engine.start(), token
