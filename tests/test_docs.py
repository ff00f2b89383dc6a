"""The docs name commands that work: README blocks marked runnable are run against a real engine,
every `hearth` command the docs show exists, and the API reference matches the engine."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RunningEngine

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_URL = "http://127.0.0.1:8931"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)
RUNNABLE = re.compile(r"<!-- runnable -->\n```(\w+)\n(.*?)```", re.S)
DOCS = [ROOT / "README.md", ROOT / "docs" / "user-guide.md"]


def _runnable_blocks() -> list[tuple[str, str]]:
    return RUNNABLE.findall((ROOT / "README.md").read_text(encoding="utf-8"))


def _env(engine: RunningEngine) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(engine.env())
    env["HEARTH_KEYSTORE"] = "file"
    env["HEARTH_KEYSTORE_PASSPHRASE"] = "correct horse battery staple"
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_the_readme_marks_blocks_as_runnable() -> None:
    kinds = [kind for kind, _ in _runnable_blocks()]
    assert kinds.count("sh") >= 2
    assert "python" in kinds


@pytest.mark.parametrize("index", range(len(_runnable_blocks())))
def test_runnable_readme_block(index: int, engine_server: RunningEngine) -> None:
    kind, code = _runnable_blocks()[index]
    # The docs show the default address; the test engine listens on a port of its own.
    code = code.replace(DEFAULT_URL, engine_server.url)
    if kind == "python":
        code = code.replace("<hearth token>", engine_server.token)
        command = [sys.executable, "-c", code]
    else:
        command = ["bash", "-euo", "pipefail", "-c", code]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env=_env(engine_server), cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, f"README block {index} failed:\n{code}\n{done.stderr[-2000:]}"
    assert done.stdout.strip(), f"README block {index} printed nothing"
    if "curl" in code:
        assert json.loads(done.stdout)["choices"][0]["message"]["content"]


def _commands() -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for doc in DOCS:
        for _kind, code in BLOCK.findall(doc.read_text(encoding="utf-8")):
            for line in code.splitlines():
                line = line.split("#")[0].strip().rstrip("\\").strip()
                if not re.match(r"^(hearth|hearth-engine)\b", line):
                    continue
                words: list[str] = []
                for word in shlex.split(line):
                    if not re.fullmatch(r"[a-z][a-z-]*", word) or len(words) == 3:
                        break
                    words.append(word)
                found.add(tuple(words))
    return found


def test_every_command_the_docs_show_exists() -> None:
    commands = _commands()
    assert ("hearth", "providers", "add") in commands
    for words in sorted(commands):
        done = subprocess.run([str(BIN / words[0]), *words[1:], "--help"], capture_output=True,
                              text=True, timeout=60)  # fmt: skip
        assert done.returncode == 0, f"`{' '.join(words)}` does not exist: {done.stderr[-500:]}"


def test_the_api_reference_is_up_to_date() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import api_docs
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    fresh = api_docs.render(api_docs.openapi())
    assert (ROOT / "docs" / "api.md").read_text(encoding="utf-8") == fresh, "run `make docs`"


def test_doc_links_point_at_files_that_exist() -> None:
    for doc in [*DOCS, ROOT / "docs" / "architecture.md", ROOT / "CONTRIBUTING.md"]:
        for target in re.findall(r"\]\(([^)#]+)\)", doc.read_text(encoding="utf-8")):
            if "://" not in target:
                assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"
