"""The `hearth` command as a user runs it, against real engines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import RunningEngine, engine_env

HEARTH = [sys.executable, "-m", "app.cli"]


def _run(
    args: list[str], env: dict[str, str], stdin: str = "", timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HEARTH, *args], input=stdin, capture_output=True, text=True, env=env, timeout=timeout
    )


def _env_for(engine: RunningEngine) -> dict[str, str]:
    return engine_env(engine.home)


def test_token_matches_the_engines(engine_server: RunningEngine) -> None:
    done = _run(["token"], _env_for(engine_server))
    assert done.returncode == 0
    assert done.stdout.strip() == engine_server.token


def test_one_shot_chat_uses_the_running_engine(engine_server: RunningEngine) -> None:
    question = "What is the capital of France? Answer in one word."
    done = _run(
        ["chat", question, "--temperature", "0", "--max-tokens", "12"], _env_for(engine_server)
    )
    assert done.returncode == 0, done.stderr
    assert "Starting the engine" not in done.stderr
    # What it prints is the engine's greedy reply to the same question.
    with engine_server.http() as http:
        reply = http.post("/v1/chat/completions", json={
            "messages": [{"role": "user", "content": question}], "temperature": 0, "max_tokens": 12,
        }).json()  # fmt: skip
    assert done.stdout.strip() == reply["choices"][0]["message"]["content"].strip()


def test_interactive_chat_keeps_history_and_exits(engine_server: RunningEngine) -> None:
    done = _run(
        ["chat", "--max-tokens", "20", "--temperature", "0"],
        _env_for(engine_server),
        stdin="Count from 1 to 5, comma separated.\n\n/exit\n",
    )
    assert done.returncode == 0, done.stderr
    assert "Chatting with smollm2-135m-instruct" in done.stdout
    assert "1, 2, 3" in done.stdout


def test_models_list_and_show(engine_server: RunningEngine) -> None:
    listing = _run(["models", "list"], _env_for(engine_server))
    assert listing.returncode == 0
    assert "smollm2-135m-instruct" in listing.stdout
    assert "embedded" in listing.stdout
    shown = _run(["models", "show", "smollm2-135m-instruct"], _env_for(engine_server))
    assert "quantization: Q4_1" in shown.stdout


def test_chat_starts_an_engine_when_none_runs_and_stops_it(tmp_path: Path) -> None:
    env = engine_env(tmp_path)
    done = _run(["chat", "Say hi", "--max-tokens", "5"], env)
    assert done.returncode == 0, done.stderr
    assert "Starting the engine" in done.stderr
    assert done.stdout.strip()
    assert not (tmp_path / "run" / "engine.json").exists()  # the engine it started has stopped


def test_bare_hearth_without_display_falls_back_to_terminal_chat(
    engine_server: RunningEngine,
) -> None:
    env = {
        k: v for k, v in _env_for(engine_server).items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")
    }
    done = _run([], env, stdin="/exit\n")
    assert done.returncode == 0, done.stderr
    assert "there is no display" in done.stderr


def test_bare_hearth_with_an_unreachable_display_says_why_and_chats_in_the_terminal(
    engine_server: RunningEngine,
) -> None:
    env = {k: v for k, v in _env_for(engine_server).items() if k != "QT_QPA_PLATFORM"}
    env["DISPLAY"] = ":97"  # no X server there: Qt cannot open a window
    done = _run([], env, stdin="/exit\n")
    assert done.returncode == 0, done.stderr
    assert "the display could not be reached" in done.stderr


def test_errors_are_one_clear_line(engine_server: RunningEngine) -> None:
    done = _run(["chat", "hi", "--model", "missing"], _env_for(engine_server))
    assert done.returncode == 1
    assert done.stderr.strip().startswith("hearth: The model 'missing' does not exist")
    assert "Traceback" not in done.stderr


def test_serve_refuses_a_public_bind_without_the_flag(tmp_path: Path) -> None:
    env = {**engine_env(tmp_path), "PATH": os.environ["PATH"]}
    done = _run(["serve", "--host", "0.0.0.0", "--port", "0"], env, timeout=60)
    assert done.returncode == 2
    assert "refusing to bind" in done.stderr
