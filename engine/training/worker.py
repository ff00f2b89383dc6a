"""The trainer's own process: `python -m engine.training.worker <job folder>`.

It reads `spec.json` (the base model's file, the training and held-out token streams, the
settings), dequantizes the base to F32, trains epoch by epoch, keeps the best epoch by held-out
loss (a checkpoint each), stops early when held-out loss rises, and writes the result in the
chosen type with the base's chat template and context length restored. Every step is a line in
`events.jsonl`, which the engine reads; a crash or an out-of-memory kill ends only this process,
and the engine reads why from what is there.

Each checkpoint is the F32 model after an epoch that improved the held-out loss, with
`resume.json` (that epoch, the step, the loss) written after it: a worker started again on the
folder (after the engine was killed) goes on from there instead of from the base. The
optimizer's moments are not saved by llama.cpp, so they start again at the resumed epoch."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from engine.backends.training_backend import (
    FTYPE_ALL_F32,
    FTYPE_F16,
    FTYPE_Q8_0,
    WINDOW,
    Trainer,
    architecture,
    context_length,
    quantize,
)


class Events:
    def __init__(self, path: Path) -> None:
        self._file = path.open("a", encoding="utf-8")

    def emit(self, kind: str, message: str, **data: Any) -> None:
        line = {"at": time.time(), "type": kind, "message": message, "data": data}
        self._file.write(json.dumps(line) + "\n")
        self._file.flush()


def _restore_metadata(
    source: Path, target: Path, base: Path, template: str | None, name: str | None
) -> None:
    """Copy `source` to `target` with the base's metadata back: its chat template and context
    length (training drops the one and saves its window as the other), and without the keys
    llama.cpp's save adds that the base never had (a pooling type would make it an embedding
    model; some arrays are written empty, which a GGUF writer refuses); `name` (the tuned
    model's `ft:` name) as its general.name."""
    from gguf import GGUFReader, GGUFValueType, GGUFWriter
    from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata

    reader, original = GGUFReader(str(source)), GGUFReader(str(base))
    arch = architecture(source)
    writer = GGUFWriter(str(target), arch=arch, endianess=reader.endianess)
    changes = {f"{arch}.context_length":
               MetadataDetails(GGUFValueType.UINT32, context_length(base), "")}  # fmt: skip
    if template:
        changes["tokenizer.chat_template"] = MetadataDetails(GGUFValueType.STRING, template, "")
    if name:
        changes["general.name"] = MetadataDetails(GGUFValueType.STRING, name, "")
    dropped = [name for name, f in reader.fields.items()
               if (name not in original.fields and not name.startswith(("general.", "GGUF.")))
               or (f.types and f.types[0] == GGUFValueType.ARRAY and not f.data)]  # fmt: skip
    copy_with_new_metadata(reader, writer, changes, dropped)


def run(folder: Path) -> int:
    spec = json.loads((folder / "spec.json").read_text(encoding="utf-8"))
    parent = os.getppid()
    events = Events(folder / "events.jsonl")
    threads = int(spec["threads"])
    checkpoint, resume = folder / "checkpoint.gguf", folder / "resume.json"
    resumed = json.loads(resume.read_text()) if resume.exists() and checkpoint.exists() else None
    if resumed is None:
        f32 = folder / "base-f32.gguf"
        events.emit("status", "Preparing the base model for training")
        quantize(Path(spec["base_path"]), f32, FTYPE_ALL_F32, threads)
    else:
        f32 = checkpoint
        events.emit("status", f"Going on from the checkpoint of epoch {resumed['epoch']}")
    trainer = Trainer(f32, threads, float(spec["learning_rate"]), int(spec["upper_layers"]))
    if resumed is None:
        f32.unlink()  # read into memory; the disk space goes back
    train_tokens: list[int] = spec["train_tokens"]
    held_tokens: list[int] = spec["held_out_tokens"]
    data, count = trainer.dataset(train_tokens + held_tokens)
    held_windows = max(1, len(held_tokens) // (WINDOW // 2)) if held_tokens else 0
    split = max(1, count - held_windows)
    epochs = int(spec["n_epochs"])
    what = f"{trainer.trained_tensors} tensors of {trainer.n_layer} layers"
    events.emit("status", f"Training {what} on {split * WINDOW} tokens a pass",
                windows=count, split=split)  # fmt: skip
    best: float | None = resumed["valid_loss"] if resumed else None
    best_epoch = resumed["epoch"] if resumed else 0
    step = first_step = resumed["step"] if resumed else 0
    started = time.monotonic()
    for epoch in range(best_epoch + 1, epochs + 1):

        def on_batch(done: int, total: int, loss: float | None, epoch: int = epoch) -> None:
            nonlocal step
            if os.getppid() != parent:
                os._exit(1)  # the engine is gone (killed): its trainer goes too
            step += 1
            elapsed = time.monotonic() - started
            per_step = elapsed / (step - first_step)
            left = per_step * (epochs * total - step)
            speed = round(WINDOW / per_step, 1)
            events.emit("metrics", f"Step {step}/{epochs * total}", step=step,
                        total_steps=epochs * total, epoch=epoch, tokens_per_second=speed,
                        eta_seconds=round(left),
                        train_loss=round(loss, 4) if loss is not None else None)  # fmt: skip

        result = trainer.epoch(data, count, split, on_batch)
        held = result.eval_loss
        events.emit("metrics", f"Epoch {epoch}: train loss {result.train_loss:.3f}" +
                    (f", held-out loss {held:.3f}" if held is not None else ""),
                    step=step, epoch=epoch, train_loss=round(result.train_loss, 4),
                    valid_loss=round(held, 4) if held is not None else None)  # fmt: skip
        if held is None or best is None or held < best:
            best, best_epoch = held, epoch
            trainer.save(folder / "checkpoint.part")
            os.replace(folder / "checkpoint.part", checkpoint)  # whole, or the one before
            state = {"epoch": epoch, "step": step, "valid_loss": held}
            (folder / "resume.part").write_text(json.dumps(state), encoding="utf-8")
            os.replace(folder / "resume.part", resume)
            events.emit("checkpoint", f"Checkpoint at epoch {epoch}", epoch=epoch, step=step,
                        train_loss=result.train_loss, valid_loss=held)  # fmt: skip
        elif held > best:
            events.emit("status", f"Held-out loss rose at epoch {epoch}: stopping early, keeping "
                        f"epoch {best_epoch}")  # fmt: skip
            break
    trainer.free_dataset(data)
    trainer.close()
    events.emit("status", "Writing the tuned model")
    ftype = {"q8_0": FTYPE_Q8_0, "f16": FTYPE_F16}[spec["output_type"]]
    packed = folder / "packed.gguf"
    quantize(checkpoint, packed, ftype, threads)
    _restore_metadata(packed, folder / "result.part", Path(spec["base_path"]),
                      spec.get("chat_template"), spec.get("model_name"))  # fmt: skip
    packed.unlink()
    shutil.move(folder / "result.part", folder / "result.gguf")
    events.emit("done", "Training finished", best_epoch=best_epoch, trained_tokens=step * WINDOW)
    return 0


def main() -> int:
    folder = Path(sys.argv[1])
    with contextlib.suppress(OSError):
        os.nice(10)  # chat comes first
    try:
        return run(folder)
    except Exception as exc:  # the engine reads the reason from the events
        Events(folder / "events.jsonl").emit("error", f"training failed ({type(exc).__name__})")
        return 1


if __name__ == "__main__":
    sys.exit(main())
