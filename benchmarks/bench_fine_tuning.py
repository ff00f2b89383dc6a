"""Fine-tuning: training tokens/s and the trainer's peak memory, and what a small fact-teaching
job learned and kept, for the embedded SmolLM2-135M and the test suite's Qwen2.5-Coder 0.5B,
each trained whole and only in its upper 8 layers.

The data is the test suite's (40 examples teaching one fact, 5 held-out paraphrases), through
the engine's own API with the official `openai` SDK; tokens/s is the median the trainer reports
per step, peak memory the largest resident size of the worker process seen (polled twice a
second), learned and kept the job's own report.

    .venv/bin/python benchmarks/bench_fine_tuning.py [--epochs 2] [--models a,b]
        [--section BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import openai

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.engine_run import start_engine  # noqa: E402
from benchmarks.report import emit  # noqa: E402
from scripts.test_models import QWEN, default_folder, install  # noqa: E402
from tests.engine.test_fine_tuning import _jsonl  # noqa: E402
from tests.mascot import BASE, HELD_OUT, QUESTIONS  # noqa: E402

MODELS = f"{BASE},{Path(QWEN).stem.lower()}"


def _worker_peak(stop: threading.Event, peak: list[int]) -> None:
    while not stop.is_set():
        done = subprocess.run(
            ["ps", "-eo", "rss,args"], capture_output=True, text=True, check=False
        )
        for line in done.stdout.splitlines():
            if "engine.training.worker" in line and "ps -eo" not in line:
                peak[0] = max(peak[0], int(line.split()[0]) * 1024)
        time.sleep(0.5)


def run(sdk: openai.OpenAI, model: str, epochs: int, upper_layers: int,
        lr: float | None = None) -> str:  # fmt: skip
    train = sdk.files.create(file=("f.jsonl", _jsonl(QUESTIONS, 4)), purpose="fine-tune").id
    held = sdk.files.create(file=("h.jsonl", _jsonl(HELD_OUT)), purpose="fine-tune").id
    peak, stop = [0], threading.Event()
    watcher = threading.Thread(target=_worker_peak, args=(stop, peak), daemon=True)
    watcher.start()
    started = time.monotonic()
    job = sdk.fine_tuning.jobs.create(
        model=model, training_file=train, validation_file=held, seed=7,
        hyperparameters={"n_epochs": epochs, "learning_rate_multiplier": lr or "auto"},
        extra_body={"upper_layers": upper_layers},
    )  # fmt: skip
    while (job := sdk.fine_tuning.jobs.retrieve(job.id)).status not in (
        "succeeded", "failed", "cancelled"):  # fmt: skip
        time.sleep(2)
    took = time.monotonic() - started
    stop.set()
    watcher.join()
    events = list(sdk.fine_tuning.jobs.list_events(job.id, limit=1000))
    data = [dict(e.data) for e in events if isinstance(e.data, dict)]
    speeds = [float(d["tokens_per_second"]) for d in data if "tokens_per_second" in d]
    report = job.model_dump().get("report") or {}
    what = f"upper {upper_layers} layers" if upper_layers else "all layers"
    what += f", learning rate ×{lr}" if lr else ""
    if job.status != "succeeded":
        return f"{model}, {what}: {job.status} ({job.error})"
    if job.fine_tuned_model:
        sdk.models.delete(job.fine_tuned_model)
    return (
        f"{model}, {what}, {epochs} epochs: {statistics.median(speeds):.0f} training tokens/s, "
        f"trainer peak memory {peak[0] / 2**30:.2f} GiB, job {took:.0f} s; learned "
        f"{report['learned']['held_out_answers']} held-out answers; kept "
        f"{report['kept']['control_answers_still_right']} control answers the base got right, "
        f"{report['kept']['control_prompts_same_as_base']} word for word"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--models", default=MODELS)
    parser.add_argument("--uppers", default="0,8", help="layers trained, 0 for all")
    parser.add_argument("--lr", type=float, help="learning_rate_multiplier (default: auto)")
    parser.add_argument("--section", type=Path)
    args = parser.parse_args()
    lines = []
    install(default_folder())  # the Qwen test model, as `make test` installs it
    engine, url, token = start_engine(models_dir=str(default_folder()))
    try:
        sdk = openai.OpenAI(base_url=url + "/v1", api_key=token, max_retries=0)
        for model in args.models.split(","):
            for upper in (int(u) for u in args.uppers.split(",")):
                lines.append(run(sdk, model, args.epochs, upper, args.lr))
                print(lines[-1], flush=True)
    finally:
        engine.stop()
    emit("Fine-tuning: training speed, memory, learned and kept", lines, args.section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
