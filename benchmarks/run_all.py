"""`make bench`: run every benchmarks/bench_*.py and write BENCHMARKS.md from their sections."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HEAD = """# Benchmarks

Each figure is a ratio or a difference measured in one run against its reference (the raw library
in-process), because these machines are shared and noisy. `make bench` regenerates this file.

"""


def main() -> int:
    here = Path(__file__).resolve().parent
    sections: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for script in sorted(here.glob("bench_*.py")):
            out = Path(tmp) / f"{script.stem}.md"
            print(f"==> {script.name}", flush=True)
            done = subprocess.run(
                [sys.executable, str(script.relative_to(here.parent)), "--section", str(out)],
                cwd=here.parent,
            )
            if done.returncode != 0:
                return done.returncode
            sections.append(out.read_text(encoding="utf-8"))
    (here.parent / "BENCHMARKS.md").write_text(HEAD + "\n".join(sections), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
