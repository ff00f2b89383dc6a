"""`make bench`: run every benchmarks/bench_*.py and write BENCHMARKS.md from their sections."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HEAD = """# Benchmarks

Each figure is a ratio or a difference measured in one run against its reference: the raw library
in-process, and for chat also llama-cpp-python's own server and llama.cpp's `llama-server` on the
same model and threads, because these machines are shared and noisy. `make bench` regenerates
this file and the plot under `docs/bench/`.

"""


def main() -> int:
    here = Path(__file__).resolve().parent
    env = dict(os.environ)
    if "LLAMA_SERVER" not in env:  # llama.cpp's own server as a reference, built once
        built = subprocess.run(
            ["bash", str(here / "build_llama_server.sh")], capture_output=True, text=True
        )
        if built.returncode == 0:
            env["LLAMA_SERVER"] = built.stdout.strip().splitlines()[-1]
        else:
            print("==> llama-server could not be built; chat is compared without it", flush=True)
    sections: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for script in sorted(here.glob("bench_*.py")):
            out = Path(tmp) / f"{script.stem}.md"
            print(f"==> {script.name}", flush=True)
            done = subprocess.run(
                [sys.executable, str(script.relative_to(here.parent)), "--section", str(out)],
                cwd=here.parent,
                env=env,
            )
            if done.returncode != 0:
                return done.returncode
            sections.append(out.read_text(encoding="utf-8"))
    (here.parent / "BENCHMARKS.md").write_text(HEAD + "\n".join(sections), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
