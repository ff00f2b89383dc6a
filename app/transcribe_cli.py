"""`hearth transcribe FILE...`: a background job per file, each with a progress bar and output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from app.engine_client import RESULT_FORMATS, EngineClient

BAR = 30


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("transcribe", help="transcribe audio or video files")
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--model", "-m", help="transcription model (default: the engine's)")
    parser.add_argument("--language", "-l", help="spoken language, e.g. en (default: detect)")
    parser.add_argument("--format", "-f", choices=sorted(RESULT_FORMATS), default="txt")
    parser.add_argument(
        "--out", "-o", type=Path, help="folder for the outputs (default: beside each input)"
    )
    parser.add_argument("--translate", action="store_true", help="translate into English")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def _bar(name: str, fraction: float, done: float, total: float | None) -> str:
    filled = int(BAR * fraction)
    times = f" {_clock(done)}/{_clock(total)}" if total else ""
    return f"\r{name[:28]:28} [{'#' * filled}{'.' * (BAR - filled)}] {fraction * 100:3.0f}%{times}"


def transcribe_files(
    client: EngineClient, args: argparse.Namespace, err: TextIO = sys.stderr
) -> int:
    failures = 0
    for path in args.files:
        if not path.is_file():
            print(f"{path}: no such file", file=err)
            failures += 1
            continue
        target_dir = args.out or path.parent
        target = target_dir / f"{path.stem}.{args.format}"
        job = client.submit_job(
            path,
            kind="translation" if args.translate else "transcription",
            model=args.model,
            language=args.language,
            response_format=RESULT_FORMATS[args.format],
            timestamp_granularities=["segment"],
        )
        try:
            for state in client.job_events(job.id):
                err.write(_bar(path.name, state.progress, state.done_seconds, state.total_seconds))
                err.flush()
                job = state
        except KeyboardInterrupt:
            client.cancel_job(job.id)
            err.write("  cancelled\n")
            return 130
        err.write("\n")
        if job.status != "succeeded":
            print(f"{path}: {job.status}: {job.error or 'no result'}", file=err)
            failures += 1
            continue
        client.save_job_result(job.id, target)
        print(f"{path} -> {target}")
    return 1 if failures else 0
