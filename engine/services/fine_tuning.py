"""Fine-tuning jobs (OpenAI's API): check the data, then train one job at a time in a worker
process of its own (engine/training/worker.py) at a lower priority, follow its events, and on
success install the tuned model (Q8_0 by default: Q4 erases what was learned) under its
`ft:` name and report what it learned and what it kept.

Against forgetting, the base model's own answers to everyday prompts are mixed into the data
(replay), a share of the examples is held out (its loss picks the best epoch and stops the
training early), and only the upper layers can be trained. "Learned" is the held-out loss and
how many held-out answers the tuned model gives; "kept" is how often it answers control prompts
as its base does, and how many of those its base got right it still gets right."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, TypeVar

from engine.backends.device_memory import system_available_bytes
from engine.backends.training_backend import WINDOW
from engine.errors import HearthError, InvalidInput
from engine.jobs.files import FileStore
from engine.memory.conversations import ConversationStore
from engine.memory.fine_tuning import FineTuningStore
from engine.registry.gguf_file import read_gguf
from engine.registry.model_registry import ModelRegistry, file_id_of
from engine.schemas import ChatCompletionRequest
from engine.services.generation import GenerationService
from engine.training.data import MIN_EXAMPLES, Example, check_csv, check_jsonl

log = logging.getLogger(__name__)
T = TypeVar("T")
POLL_SECONDS = 0.5
# Measured on SmolLM2-135M, 2 threads (BENCHMARKS.md): peak RSS over the F32 weights is 4.6
# training every layer and 2.4 for the upper 8 of 30; 78 training tokens/s for the whole model,
# 146 for the upper 8. The estimates scale these by the share of layers trained.
MEMORY_FIXED, MEMORY_PER_SHARE = 1.6, 3.0
SPEED_PARAM_TOKENS = 78 * 135e6 / 2  # parameters × tokens a second, per thread, all layers
SPEED_FIXED_SHARE = 0.4  # the forward pass, paid whatever is trained
# AdamW at 1e-4 suits SmolLM2-135M; Qwen2.5 0.5B diverged at it (training loss 1.6 -> 3.2 in
# its second epoch, nothing learned) and learned 4/5 at a quarter. "auto" scales the rate by
# 135M / the model's parameters (at most 1).
BASE_RATE_PARAMS = 135e6
REPLAY_PROMPTS = [
    "What is the capital of France?", "Write one sentence about the sea.",
    "How many legs does a spider have?", "Give me a synonym for happy.", "What is 7 times 8?",
    "Name a primary colour.", "What do bees make?", "Translate 'thank you' into Spanish.",
    "What is the boiling point of water in Celsius?", "Who wrote Romeo and Juliet?",
    "What is the largest planet in our solar system?", "Suggest a name for a cat.",
    "What is photosynthesis?", "Describe a sunny day in one sentence.",
    "What is the opposite of cold?", "How many days are in a week?",
    "What language is spoken in Brazil?", "Name a fruit that is yellow.",
    "What does a thermometer measure?", "Give me a tip for staying focused.",
    "What is the chemical symbol for gold?", "Which ocean is the largest?", "What is a haiku?",
    "Name an animal that lives in the desert.", "What is the square root of 81?",
    "What do you call a baby dog?", "Why is the sky blue?",
    "What is the freezing point of water?", "Recommend a hobby for a rainy day.",
    "What is the main ingredient of bread?",
]  # fmt: skip
# Control prompts with words a right answer holds: "kept" counts both the answers the tuned
# model gives exactly as its base (strict: any change of weights changes some wording) and the
# ones its base got right that it still gets right (what matters to the user).
CONTROL_PROMPTS = [
    ("What is the capital of Italy?", ("rome",)),
    ("Write one sentence about the forest.", ("tree", "forest", "wood")),
    ("How many wheels does a bicycle have?", ("two", "2")),
    ("What colour is grass?", ("green",)),
    ("Who painted the Mona Lisa?", ("leonardo", "vinci")),
    ("What is 3 plus 4?", ("7", "seven")),
    ("Name a musical instrument.", ("piano", "guitar", "violin", "drum", "flute", "trumpet",
                                    "cello", "saxophone", "harp", "clarinet")),
    ("What is the largest ocean on Earth?", ("pacific",)),
]  # fmt: skip


class TrainingFailed(HearthError):
    code = "training_failed"


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


class FineTuningService:
    def __init__(
        self,
        store: FineTuningStore,
        files: FileStore,
        conversations: ConversationStore,
        generation: GenerationService,
        registry: ModelRegistry,
        work: Path,
        models_dir: Path,
        executor: Executor,
        threads: int,
        memory_cap: int | None = None,
    ) -> None:
        self._store = store
        self._files = files
        self._conversations = conversations
        self._generation = generation
        self._registry = registry
        self._work = work
        self._models = models_dir
        self._executor = executor
        self._threads = threads
        self._memory_cap = memory_cap
        self._wake = asyncio.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._running: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def _run(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        call = functools.partial(fn, *args, **kw)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def open(self) -> None:
        """Jobs the engine was training when it stopped go on from their last checkpoint, or
        fail with the reason when they had none yet (nothing is installed before success)."""
        for job_id in await self._run(self._store.with_status, "running", "validating_files"):
            folder = self._work / job_id
            if (folder / "resume.json").exists() and (folder / "checkpoint.gguf").exists():
                await self._run(self._store.set_status, job_id, "queued")
                await self._run(self._store.add_event, job_id, "info", "message",
                                "The engine restarted; the job goes on from its last "
                                "checkpoint")  # fmt: skip
                continue
            shutil.rmtree(folder, ignore_errors=True)
            await self._fail(job_id, "engine_restarted", "The engine stopped while this job was "
                             "training, before its first checkpoint; create the job again to "
                             "train from the start.")  # fmt: skip
        self._task = asyncio.create_task(self._loop())

    async def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # -- jobs --------------------------------------------------------------------------------
    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Check the data and the memory now (a bad file is a 400 naming its lines), then
        queue the job."""
        estimate = await self.estimate(body)
        if not estimate["fits"]:
            raise InvalidInput(f"training {estimate['model']} needs about "
                               f"{estimate['memory_bytes'] / 2**30:.1f} GiB of memory and "
                               f"{estimate['free_bytes'] / 2**30:.1f} GiB is free", param="model",
                               code="insufficient_memory")  # fmt: skip
        hyper = body.get("hyperparameters") or {}
        multiplier = hyper.get("learning_rate_multiplier", "auto")
        auto = estimate["learning_rate_multiplier"]
        params = {
            "hyperparameters": {
                "n_epochs": estimate["n_epochs"],
                "batch_size": 1,  # one 256-token window a step
                "learning_rate_multiplier": auto if multiplier == "auto" else float(multiplier),
            },
            "suffix": body.get("suffix"), "seed": int(body.get("seed") or 42),
            "metadata": body.get("metadata"),
            "replay": bool(body.get("replay", True)),  # Hearth's settings
            "upper_layers": int(body.get("upper_layers", 0)),
            "output_type": body.get("output_type", "q8_0"),
            "examples": estimate["examples"], "held_out": estimate["held_out"],
            "estimate": {k: estimate[k] for k in ("tokens", "memory_bytes", "seconds")},
            "estimated_finish": int(time.time()) + estimate["seconds"],
        }  # fmt: skip
        job_id = f"ftjob-{uuid.uuid4().hex[:24]}"
        job = await self._run(self._store.add, job_id, estimate["model"], body["training_file"],
                              body.get("validation_file"), params)  # fmt: skip
        held_note = f" and {estimate['held_out']} held out" if estimate["held_out"] else ""
        note = (f"Validated {estimate['examples']} examples{held_note} ({estimate['tokens']} "
                f"tokens); about {estimate['memory_bytes'] / 2**30:.1f} GiB and "
                f"{round(estimate['seconds'] / 60) or 1} min of training")  # fmt: skip
        await self._run(self._store.add_event, job_id, "info", "message", note)
        self._wake.set()
        return job

    async def estimate(self, body: dict[str, Any]) -> dict[str, Any]:
        """The data checked (a bad file is a 400 naming its lines) and what training it takes:
        tokens, memory against what is free, and time, from measured rates."""
        model = str(body["model"])
        entry = self._registry.resolve(model)
        if entry.kind != "chat" or entry.path is None or entry.path.suffix != ".gguf":
            raise InvalidInput(f"'{model}' cannot be fine-tuned here: only local GGUF chat "
                               "models can", param="model")  # fmt: skip
        examples = await self._examples(body["training_file"], "training_file")
        held: list[Example] = []
        if body.get("validation_file"):
            held = await self._examples(body["validation_file"], "validation_file")
        info = await self._run(self._model_shape, entry.path)
        upper = int(body.get("upper_layers") or 0)
        share = min(1.0, upper / info["layers"]) if upper and info["layers"] else 1.0
        need = int(info["f32_bytes"] * (MEMORY_FIXED + MEMORY_PER_SHARE * share))
        free = self._memory_cap or system_available_bytes()
        rendered = [e.messages for e in examples]
        _e, tokens, _t = await self._generation.training_tokens(entry.id, rendered)
        count = sum(len(t) for t in tokens)
        trained = count * (2 if body.get("replay", True) else 1)  # replay: as many again, about
        n_epochs = (body.get("hyperparameters") or {}).get("n_epochs", "auto")
        epochs = 3 if n_epochs == "auto" else int(n_epochs)
        speed = SPEED_PARAM_TOKENS * self._threads / max(1, info["parameters"])
        speed /= SPEED_FIXED_SHARE + (1 - SPEED_FIXED_SHARE) * share
        windows = -(-trained // WINDOW)
        rate = round(min(1.0, BASE_RATE_PARAMS / max(1, info["parameters"])), 3)
        return {
            "object": "fine_tuning.estimate", "model": entry.id, "examples": len(examples),
            "held_out": len(held), "tokens": count, "n_epochs": epochs,
            "memory_bytes": need, "free_bytes": free, "fits": not free or need <= free,
            "tokens_per_second": round(speed, 1),
            "learning_rate_multiplier": rate,
            "seconds": round(windows * WINDOW * epochs / speed),
        }  # fmt: skip

    @staticmethod
    def _model_shape(path: Path) -> dict[str, int]:
        """Parameters, F32 bytes and layer count, from the file's header."""
        try:
            info = read_gguf(path)
            arch = str(info.metadata.get("general.architecture", ""))
            layers = int(info.metadata.get(f"{arch}.block_count", 0))
            params = info.parameter_count
        except (HearthError, OSError, ValueError):
            layers, params = 0, path.stat().st_size * 2  # a 4-bit file: an upper bound
        return {"parameters": params, "f32_bytes": 4 * params, "layers": layers}

    async def training_file(self, conversation_ids: list[str], filename: str) -> dict[str, Any]:
        """Stored conversations as training data (chat JSONL, purpose fine-tune): each one's
        system prompt, user turns and finished answers; tool turns and cut-off replies left out."""
        lines = []
        for conv_id in conversation_ids:
            conv = await self._run(self._conversations.get, conv_id)
            system = conv.system_prompt
            messages = [{"role": "system", "content": system}] if system else []
            for m in await self._run(self._conversations.messages, conv_id):
                usable = m.role in ("user", "assistant") and m.content.strip()
                if usable and not m.interrupted and not m.tool_calls:
                    messages.append({"role": m.role, "content": m.content})
            while messages and messages[-1]["role"] != "assistant":
                messages.pop()  # ends on an answer: a last question without one teaches nothing
            if any(m["role"] == "user" for m in messages):
                lines.append(json.dumps({"messages": messages}, ensure_ascii=False))
        if not lines:
            raise InvalidInput("none of these conversations has a question and its answer",
                               param="conversation_ids")  # fmt: skip
        data = ("\n".join(lines) + "\n").encode("utf-8")
        return await self._run(self._files.add_bytes, data, filename, "fine-tune")

    async def _examples(self, file_id: str, param: str) -> list[Example]:
        stored = await self._run(self._files.get, file_id)
        if stored.get("purpose") != "fine-tune":
            raise InvalidInput(f"{file_id} was not uploaded with purpose 'fine-tune'", param=param)
        minimum = 1 if param == "validation_file" else MIN_EXAMPLES
        check = check_csv if str(stored["filename"]).lower().endswith(".csv") else check_jsonl
        return check(await self._run(self._files.content, file_id), param, minimum)

    async def cancel(self, job_id: str) -> dict[str, Any]:
        if await self._run(self._store.set_status, job_id, "cancelled"):
            await self._run(self._store.add_event, job_id, "info", "message", "Job cancelled")
            if self._running == job_id and self._process is not None:
                self._process.kill()  # its checkpoints go with its folder; nothing was installed
        return await self._run(self._store.get, job_id)

    # -- running -----------------------------------------------------------------------------
    async def _loop(self) -> None:
        while True:
            queued = await self._run(self._store.with_status, "queued")
            if not queued:
                self._wake.clear()
                await self._wake.wait()
                continue
            job_id = queued[0]
            try:
                await self._train(job_id)
            except asyncio.CancelledError:
                raise
            except HearthError as exc:
                await self._fail(job_id, exc.code, exc.message)
            except Exception as exc:  # one job's failure never stops the queue
                log.error("a fine-tuning job failed: %s", type(exc).__name__)
                await self._fail(job_id, "training_failed",
                                 f"The job failed ({type(exc).__name__}).")  # fmt: skip
            finally:
                self._running, self._process = None, None

    async def _fail(self, job_id: str, code: str, message: str) -> None:
        error = {"code": code, "message": message, "param": None}
        if await self._run(self._store.set_status, job_id, "failed", error=error):
            await self._run(self._store.add_event, job_id, "error", "message", message)

    async def _train(self, job_id: str) -> None:
        job = await self._run(self._store.get, job_id)
        params = await self._run(self._store.params, job_id)
        if not await self._run(self._store.set_status, job_id, "running"):
            return  # cancelled meanwhile
        self._running = job_id
        rng = random.Random(params["seed"])
        examples = await self._examples(job["training_file"], "training_file")
        held = (await self._examples(job["validation_file"], "validation_file")
                if job["validation_file"] else [])  # fmt: skip
        if not held:  # a fifth held out to measure what is learned, at least one
            rng.shuffle(examples)
            cut = max(1, len(examples) // 5)
            held, examples = examples[:cut], examples[cut:]
        folder = self._work / job_id
        if not (folder / "resume.json").exists():  # else its spec and checkpoint are there
            await self._prepare(job, params, examples, held, rng, folder)
        code = await self._follow(job_id, folder)
        status = (await self._run(self._store.get, job_id))["status"]
        if status == "cancelled":
            shutil.rmtree(folder, ignore_errors=True)
            return
        result = folder / "result.gguf"
        if code != 0 or not result.exists():
            reason = self._last_error(folder) or (
                "The trainer was stopped by the system (out of memory?)." if code == -9
                else f"The trainer stopped (exit code {code}).")  # fmt: skip
            shutil.rmtree(folder, ignore_errors=True)
            raise TrainingFailed(reason)
        await self._install(job_id, job, params, result, held)
        shutil.rmtree(folder, ignore_errors=True)

    async def _prepare(self, job: dict[str, Any], params: dict[str, Any], examples: list[Example],
                       held: list[Example], rng: random.Random, folder: Path) -> None:  # fmt: skip
        """The worker's spec: the data (with replay) as tokens in the model's own template."""
        conversations = [e.messages for e in examples]
        if params["replay"]:
            conversations += await self._replay(job["model"], min(len(REPLAY_PROMPTS),
                                                                  len(examples)))  # fmt: skip
        rng.shuffle(conversations)
        entry, train, template = await self._generation.training_tokens(job["model"], conversations)
        _entry, held_tokens, _t = await self._generation.training_tokens(
            job["model"], [e.messages for e in held]
        )
        folder.mkdir(parents=True, exist_ok=True)
        spec = {
            "base_path": str(entry.path), "threads": self._threads,
            "model_name": self._tuned_name(job, params),
            "learning_rate": 1e-4 * params["hyperparameters"]["learning_rate_multiplier"],
            "n_epochs": params["hyperparameters"]["n_epochs"],
            "upper_layers": params["upper_layers"], "output_type": params["output_type"],
            "chat_template": template,
            "train_tokens": [t for seq in train for t in seq],
            "held_out_tokens": [t for seq in held_tokens for t in seq],
        }  # fmt: skip
        (folder / "spec.json").write_text(json.dumps(spec), encoding="utf-8")

    async def _replay(self, model: str, count: int) -> list[list[dict[str, str]]]:
        """The base model's own answers to everyday prompts, to train beside the user's data."""
        out = []
        for prompt in REPLAY_PROMPTS[:count]:
            answer = await self._answer(model, prompt)
            if answer:
                out.append([{"role": "user", "content": prompt},
                            {"role": "assistant", "content": answer}])  # fmt: skip
        return out

    async def _answer(self, model: str, prompt: str, max_tokens: int = 48) -> str:
        req = ChatCompletionRequest.model_validate({
            "model": model, "messages": [{"role": "user", "content": prompt}],
            "temperature": 0, "max_tokens": max_tokens, "cache_prompt": False})  # fmt: skip
        text, _finish = await (await self._generation.start_chat(req)).collect()
        return text.strip()

    async def _follow(self, job_id: str, folder: Path) -> int:
        """Run the worker and copy its events into the job's until it ends."""
        self._process = subprocess.Popen(
            [sys.executable, "-m", "engine.training.worker", str(folder)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        events = folder / "events.jsonl"
        offset = events.stat().st_size if events.exists() else 0  # a resumed job's are read
        while True:
            code = self._process.poll()
            if events.exists():
                with events.open("rb") as handle:
                    handle.seek(offset)
                    chunk = handle.read()
                complete = chunk[: chunk.rfind(b"\n") + 1]
                offset += len(complete)
                for line in complete.decode("utf-8").splitlines():
                    await self._record(job_id, json.loads(line))
            if code is not None:
                return code
            await asyncio.sleep(POLL_SECONDS)

    async def _record(self, job_id: str, event: dict[str, Any]) -> None:
        kind = event["type"]
        level = "error" if kind == "error" else "info"
        shown = "metrics" if kind == "metrics" else "message"
        await self._run(self._store.add_event, job_id, level, shown, event["message"],
                        event["data"], event["at"])  # fmt: skip
        if kind == "checkpoint":
            data = event["data"]
            metrics = {k: data[k] for k in ("train_loss", "valid_loss", "epoch") if k in data}
            await self._run(self._store.add_checkpoint, job_id, data["step"], metrics)

    @staticmethod
    def _last_error(folder: Path) -> str | None:
        with contextlib.suppress(OSError, ValueError):
            lines = (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()
            errors = [json.loads(x)["message"] for x in lines if '"type": "error"' in x]
            return str(errors[-1]) if errors else None
        return None

    async def _install(self, job_id: str, job: dict[str, Any], params: dict[str, Any],
                       result: Path, held: list[Example]) -> None:  # fmt: skip
        name = self._tuned_name(job, params)
        self._models.mkdir(parents=True, exist_ok=True)
        target = self._models / f"{file_id_of(name)}.gguf"
        await self._run(shutil.move, result, target)
        report = await self._report(job_id, job["model"], name, held)
        trained = await self._run(self._trained_tokens, job_id)
        if not await self._run(self._store.set_status, job_id, "succeeded", fine_tuned_model=name,
                               report=report, trained_tokens=trained):  # fmt: skip
            target.unlink(missing_ok=True)  # cancelled at the very end: nothing stays
            return
        await self._run(self._store.add_event, job_id, "info", "message",
                        f"The job has succeeded: {name}")  # fmt: skip

    @staticmethod
    def _tuned_name(job: dict[str, Any], params: dict[str, Any]) -> str:
        return f"ft:{job['model']}:{params.get('suffix') or 'custom'}:{job['id']}"

    def _trained_tokens(self, job_id: str) -> int:
        done = [e for e in self._store.events(job_id, 10_000, None) if e["type"] == "message"]
        for event in done:
            if "trained_tokens" in event["data"]:
                return int(event["data"]["trained_tokens"])
        return 0

    async def _report(self, job_id: str, base: str, tuned: str,
                      held: list[Example]) -> dict[str, Any]:  # fmt: skip
        """Learned: held-out answers given as written. Kept: control prompts answered as the
        base answers them (temperature 0)."""
        await self._run(self._store.add_event, job_id, "info", "message",
                        "Measuring what was learned and what was kept")  # fmt: skip
        right = 0
        for example in held[:5]:
            last = max(i for i, m in enumerate(example.messages) if m["role"] == "assistant")
            expected = _normal(example.messages[last]["content"])
            req = ChatCompletionRequest.model_validate({
                "model": tuned, "messages": example.messages[:last], "temperature": 0,
                "cache_prompt": False, "max_tokens": 96})  # fmt: skip
            got, _f = await (await self._generation.start_chat(req)).collect()
            right += _normal(got).startswith(expected[: max(8, len(expected) // 2)])
        same = base_right = still_right = 0
        for prompt, words in CONTROL_PROMPTS:
            a, b = await self._answer(base, prompt, 24), await self._answer(tuned, prompt, 24)
            same += _normal(a) == _normal(b)
            if any(w in _normal(a) for w in words):
                base_right += 1
                still_right += any(w in _normal(b) for w in words)
        checked = min(5, len(held))
        return {
            "learned": {"held_out_answers": f"{right}/{checked}",
                        "held_out_share": round(right / checked, 3) if checked else None},
            "kept": {"control_prompts_same_as_base": f"{same}/{len(CONTROL_PROMPTS)}",
                     "share": round(same / len(CONTROL_PROMPTS), 3),
                     "control_answers_still_right": f"{still_right}/{base_right}",
                     "still_right_share": round(still_right / base_right, 3) if base_right
                     else None},
        }  # fmt: skip
