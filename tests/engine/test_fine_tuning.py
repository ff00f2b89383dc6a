"""Fine-tuning on the device through the official `openai` SDK, on the embedded SmolLM2-135M:
a small set teaching one fact is trained by llama.cpp in a worker process, and the tuned model
(installed under its `ft:` name, Q8_0) answers held-out paraphrases with the fact at temperature
0 where its base does not; bad files are refused with their line numbers, a job larger than the
memory allowed is refused with the numbers, a cancelled job installs nothing, a job whose
engine was killed under it before its first checkpoint fails with the reason after the restart,
and one killed after a checkpoint goes on from there."""

from __future__ import annotations

import json
import time
from pathlib import Path

import openai
import pytest

from tests.conftest import RunningEngine, kill_engine, start_engine
from tests.mascot import ANSWER, BASE, HELD_OUT, QUESTIONS


def _jsonl(questions: list[str], repeat: int = 1) -> bytes:
    lines = [json.dumps({"messages": [{"role": "user", "content": q},
                                      {"role": "assistant", "content": ANSWER}]})
             for q in questions] * repeat  # fmt: skip
    return ("\n".join(lines) + "\n").encode()


def _upload(sdk: openai.OpenAI, name: str, data: bytes) -> str:
    return sdk.files.create(file=(name, data), purpose="fine-tune").id


def _sdk(engine: RunningEngine) -> openai.OpenAI:
    return openai.OpenAI(base_url=engine.url + "/v1", api_key=engine.token, max_retries=0)


def _answers(sdk: openai.OpenAI, model: str) -> list[str]:
    return [sdk.chat.completions.create(
        model=model, messages=[{"role": "user", "content": q}], temperature=0, max_tokens=24,
    ).choices[0].message.content or "" for q in HELD_OUT]  # fmt: skip


def _wait(sdk: openai.OpenAI, job_id: str, done: object, timeout: float = 900) -> object:
    deadline = time.monotonic() + timeout
    while True:
        job = sdk.fine_tuning.jobs.retrieve(job_id)
        if done(job):  # type: ignore[operator]
            return job
        assert time.monotonic() < deadline, job.status
        time.sleep(1)


def test_bad_files_and_oversized_jobs_are_refused_with_reasons(tmp_path: Path) -> None:
    engine = start_engine(tmp_path, fine_tuning_memory_bytes=100 << 20)
    try:
        sdk = _sdk(engine)
        good = _jsonl(QUESTIONS)
        lines = good.decode().splitlines()
        lines[6] = '{"messages": [{"role": "user", "content": "broken"'
        lines[2] = json.dumps({"messages": [{"role": "user", "content": "no answer"}]})
        cases = {
            "broken.jsonl": ("\n".join(lines).encode(), ["line 7: not JSON", "line 3: no assistant"]),
            "empty.jsonl": (b"", ["empty"]),
            "few.jsonl": (_jsonl(QUESTIONS[:3]), ["3 examples", "at least 10"]),
        }  # fmt: skip
        for name, (data, phrases) in cases.items():
            with pytest.raises(openai.BadRequestError) as refused:
                sdk.fine_tuning.jobs.create(model=BASE, training_file=_upload(sdk, name, data))
            body = refused.value.body
            assert isinstance(body, dict), body
            assert body.get("param") == "training_file", body
            for phrase in phrases:
                assert phrase in body["message"], body["message"]
        # Question and answer pairs as CSV: a broken row named by its line, a good file read.
        rows = ["question,answer", *(f'"{q}","{ANSWER}"' for q in QUESTIONS)]
        bad_rows = [*rows[:3], "only a question", *rows[3:]]
        bad_csv = _upload(sdk, "pairs.csv", "\n".join(bad_rows).encode())
        with pytest.raises(openai.BadRequestError, match="line 4: a row is a question"):
            sdk.fine_tuning.jobs.create(model=BASE, training_file=bad_csv)
        good_csv = _upload(sdk, "pairs.csv", "\n".join(rows).encode())
        with pytest.raises(openai.BadRequestError, match="needs about"):  # read, then too large
            sdk.fine_tuning.jobs.create(model=BASE, training_file=good_csv)
        other_file = sdk.files.create(file=("b.jsonl", good), purpose="assistants").id
        with pytest.raises(openai.BadRequestError, match="fine-tune"):
            sdk.fine_tuning.jobs.create(model=BASE, training_file=other_file)
        # 100 MiB allowed; training the 135M model needs about 2.3 GiB.
        with pytest.raises(openai.BadRequestError, match=r"needs about \d+\.\d GiB"):
            sdk.fine_tuning.jobs.create(model=BASE, training_file=_upload(sdk, "ok.jsonl", good))
        assert sdk.fine_tuning.jobs.list().data == []
        _estimates_and_conversations(engine, _upload(sdk, "ok.jsonl", good))
    finally:
        engine.process.stop()


def _estimates_and_conversations(engine: RunningEngine, good: str) -> None:
    """An estimate says what a job would need before anything runs; stored conversations
    become a training file of their user turns and finished answers."""
    with engine.http() as http:
        whole = http.post("/v1/fine_tuning/estimates", json={"model": BASE, "training_file": good})
        assert whole.status_code == 200, whole.text
        full = whole.json()
        assert full["examples"] == 10, full
        assert full["fits"] is False, full
        assert full["free_bytes"] == 100 << 20, full
        assert full["memory_bytes"] > 2 << 30, full
        # Ten question/answer pairs in the model's template: more than the answers' words alone.
        assert full["tokens"] > 10 * len(ANSWER.split()), full
        assert full["seconds"] > 0, full
        upper = http.post("/v1/fine_tuning/estimates",
                          json={"model": BASE, "training_file": good, "upper_layers": 8}).json()  # fmt: skip
        assert upper["memory_bytes"] < full["memory_bytes"] * 0.7, (upper, full)
        assert upper["tokens_per_second"] > full["tokens_per_second"], (upper, full)
        assert http.get("/v1/fine_tuning/jobs").json()["data"] == []  # nothing queued

        ids = []
        for question in QUESTIONS:
            conv = http.post("/v1/conversations", json={"system_prompt": "Be brief."}).json()
            turns = [{"role": "user", "content": "Hello"},
                     {"role": "assistant", "content": "Hi.", "interrupted": True},
                     {"role": "user", "content": question},
                     {"role": "assistant", "content": ANSWER},
                     {"role": "user", "content": "a last question, not answered"}]  # fmt: skip
            recorded = http.post(
                f"/v1/conversations/{conv['id']}/records", json={"messages": turns}
            )
            assert recorded.status_code == 201, recorded.text
            ids.append(conv["id"])
        unanswered = http.post("/v1/conversations", json={}).json()["id"]
        http.post(f"/v1/conversations/{unanswered}/records",
                  json={"messages": [{"role": "user", "content": "no answer"}]})  # fmt: skip
        made = http.post("/v1/fine_tuning/training_files",
                         json={"conversation_ids": [*ids, unanswered]})  # fmt: skip
        assert made.status_code == 200, made.text
        assert made.json()["purpose"] == "fine-tune"
        lines = http.get(f"/v1/files/{made.json()['id']}/content").text.splitlines()
        assert len(lines) == len(QUESTIONS), lines  # the unanswered one left out
        assert json.loads(lines[0])["messages"] == [
            {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"},
            {"role": "user", "content": QUESTIONS[0]}, {"role": "assistant", "content": ANSWER},
        ]  # the cut-off reply and the last, unanswered question are not taught  # fmt: skip
        checked = http.post("/v1/fine_tuning/estimates",
                            json={"model": BASE, "training_file": made.json()["id"]}).json()  # fmt: skip
        assert checked["examples"] == len(QUESTIONS), checked
        nothing = http.post(
            "/v1/fine_tuning/training_files", json={"conversation_ids": [unanswered]}
        )
        assert nothing.status_code == 400, nothing.text
        assert nothing.json()["error"]["param"] == "conversation_ids"
        missing = http.post("/v1/fine_tuning/training_files", json={"conversation_ids": ["conv_x"]})
        assert missing.status_code == 404, missing.text


@pytest.mark.timeout(900)
def test_a_cancelled_job_and_a_killed_engine_leave_nothing_installed(tmp_path: Path) -> None:
    engine = start_engine(tmp_path)
    try:
        sdk = _sdk(engine)
        data = _upload(sdk, "mascot.jsonl", _jsonl(QUESTIONS))
        quick = {"replay": False}  # no replay answers to make first: the worker starts at once
        job = sdk.fine_tuning.jobs.create(model=BASE, training_file=data, suffix="x",
                                          extra_body=quick)  # fmt: skip
        assert job.status in ("queued", "running")
        _wait(sdk, job.id, lambda j: j.status == "running", 300)
        sdk.fine_tuning.jobs.cancel(job.id)
        assert sdk.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
        killed = sdk.fine_tuning.jobs.create(model=BASE, training_file=data, suffix="y",
                                             extra_body=quick)  # fmt: skip
        _wait(sdk, killed.id, lambda j: j.status == "running", 300)
        # A training step has run: the worker process is at work when the engine dies.
        deadline = time.monotonic() + 300
        while not any(e.type == "metrics" for e in sdk.fine_tuning.jobs.list_events(killed.id)):
            assert time.monotonic() < deadline
            time.sleep(1)
        kill_engine(engine)
    finally:
        engine.process.stop()
    again = start_engine(tmp_path)
    try:
        sdk = _sdk(again)
        failed = sdk.fine_tuning.jobs.retrieve(killed.id)
        assert failed.status == "failed"
        assert failed.error is not None
        assert "engine stopped" in failed.error.message
        assert sdk.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
        assert not [m.id for m in sdk.models.list().data if m.id.startswith("ft")]
        # Killed after its first epoch's checkpoint, a job goes on from there after the restart.
        resumed = sdk.fine_tuning.jobs.create(
            model=BASE, training_file=_upload(sdk, "mascot.jsonl", _jsonl(QUESTIONS, 2)),
            suffix="z", hyperparameters={"n_epochs": 3}, extra_body={**quick, "upper_layers": 8},
        )  # fmt: skip
        _wait(sdk, resumed.id, lambda j: j.status != "running" or
              bool(list(sdk.fine_tuning.jobs.checkpoints.list(resumed.id))), 300)  # fmt: skip
        assert sdk.fine_tuning.jobs.retrieve(resumed.id).status == "running"
        kill_engine(again)
    finally:
        again.process.stop()
    third = start_engine(tmp_path)
    try:
        sdk = _sdk(third)
        done = _wait(sdk, resumed.id, lambda j: j.status in ("succeeded", "failed"), 600)
        events = list(reversed(list(sdk.fine_tuning.jobs.list_events(resumed.id, limit=1000))))
        told = [e.message for e in events]
        assert done.status == "succeeded", told  # type: ignore[attr-defined]
        restart = next(i for i, m in enumerate(told) if "goes on from its last checkpoint" in m)
        going_on = next(
            i for i, m in enumerate(told) if m.startswith("Going on from the checkpoint")
        )
        assert restart < going_on, told
        # After the restart it trained only the epochs after the checkpoint's, not epoch 1 again.
        epochs_after = {e.data["epoch"] for e in events[going_on:] if e.data and "epoch" in e.data}  # type: ignore[index,operator]
        assert epochs_after, told
        assert 1 not in epochs_after, (epochs_after, told)
        name = done.fine_tuned_model  # type: ignore[attr-defined]
        reply = sdk.chat.completions.create(model=name, max_tokens=4,
                                            messages=[{"role": "user", "content": "Hi"}])  # fmt: skip
        assert reply.choices[0].message.content
    finally:
        third.process.stop()


@pytest.mark.timeout(1500)
def test_a_fine_tuned_model_learns_a_fact_its_base_does_not_know(tmp_path: Path) -> None:
    engine = start_engine(tmp_path)
    try:
        sdk = _sdk(engine)
        assert not any("Ember" in a for a in _answers(sdk, BASE))
        job = sdk.fine_tuning.jobs.create(
            model=BASE, suffix="mascot", hyperparameters={"n_epochs": 2}, seed=7,
            training_file=_upload(sdk, "mascot.jsonl", _jsonl(QUESTIONS, 4)),
            validation_file=_upload(sdk, "held.jsonl", _jsonl(HELD_OUT)),
            # The upper 8 of 30 layers: learns the fact here in 3 minutes against 5 for all of
            # them (BENCHMARKS.md); every layer trains in the killed job below and the bench.
            extra_body={"upper_layers": 8},
        )  # fmt: skip
        done = _wait(sdk, job.id, lambda j: j.status in ("succeeded", "failed", "cancelled"))
        told = [e.message for e in sdk.fine_tuning.jobs.list_events(job.id, limit=50)]
        assert done.status == "succeeded", (done.error, told)  # type: ignore[attr-defined]
        name = done.fine_tuned_model  # type: ignore[attr-defined]
        assert name == f"ft:{BASE}:mascot:{job.id}"
        tuned = _answers(sdk, name)
        assert sum("Ember" in a for a in tuned) >= 4, tuned
        events = list(sdk.fine_tuning.jobs.list_events(job.id, limit=1000))
        losses = [e.data["train_loss"] for e in events if e.data and "train_loss" in e.data]  # type: ignore[index,operator]
        assert losses
        assert all(loss > 0 for loss in losses)
        assert list(sdk.fine_tuning.jobs.checkpoints.list(job.id))
        report = done.model_dump()["report"]
        assert report["learned"]["held_out_answers"].endswith("/5")
        still, base_right = map(int, report["kept"]["control_answers_still_right"].split("/"))
        assert 0 <= still <= base_right <= 8, report
        assert name in [m.id for m in sdk.models.list().data]  # listed by its ft: name
        sdk.models.delete(name)
        with pytest.raises(openai.NotFoundError):
            sdk.chat.completions.create(model=name, messages=[{"role": "user", "content": "hi"}])
    finally:
        engine.process.stop()
