"""Background transcription jobs: progress, results, cancellation and restarts."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningEngine, start_engine
from tests.speech import SENTENCES, join_wavs, speak
from tests.waiting import wait_for


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("job-speech")
    parts = [speak(text, folder / f"p{i}.wav") for i, text in enumerate(SENTENCES)]
    short = join_wavs(parts[:3], folder / "short.wav")
    # About three minutes of speech: long enough to cancel and to kill mid-way.
    long = join_wavs(parts * 10, folder / "long.wav")
    return {"short": short, "long": long}


def _submit(http: httpx.Client, path: Path, **fields: str) -> dict[str, object]:
    with path.open("rb") as f:
        response = http.post("/v1/jobs", files={"file": (path.name, f)}, data=fields)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] in ("queued", "running")
    return body  # type: ignore[no-any-return]


def _wait(http: httpx.Client, job_id: str, timeout: float = 180) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = http.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError("the job did not finish")


def test_progress_rises_to_one_and_result_equals_the_synchronous_one(
    http: httpx.Client, clips: dict[str, Path]
) -> None:
    job = _submit(http, clips["short"], response_format="verbose_json")
    seen: list[float] = []
    with http.stream("GET", f"/v1/jobs/{job['id']}/events") as events:
        for line in events.iter_lines():
            if line.startswith("data: {"):
                state = json.loads(line[6:])
                seen.append(state["progress"])
                last = state
    assert seen == sorted(seen)
    assert seen[-1] == 1.0
    assert last["status"] == "succeeded"
    done = http.get(f"/v1/jobs/{job['id']}").json()
    with clips["short"].open("rb") as f:
        direct = http.post(
            "/v1/audio/transcriptions", files={"file": f}, data={"response_format": "verbose_json"}
        ).json()
    assert done["result"]["text"] == direct["text"]
    assert done["done_seconds"] == pytest.approx(done["total_seconds"])
    srt = http.get(f"/v1/jobs/{job['id']}/result", params={"format": "srt"})
    assert srt.status_code == 200
    assert "-->" in srt.text
    assert any(j["id"] == job["id"] for j in http.get("/v1/jobs").json()["data"])


def test_cancel_stops_a_running_job_at_once(
    http: httpx.Client, clips: dict[str, Path], tmp_path: Path
) -> None:
    # Half an hour of speech: about two minutes of work here, so a job that kept running after
    # its cancel would hold the next one back far beyond the wait below.
    marathon = join_wavs([clips["long"]] * 10, tmp_path / "marathon.wav")
    job = _submit(http, marathon)
    # Cancel only once it is really running (some progress made), not while it is queued.
    wait_for(
        lambda: http.get(f"/v1/jobs/{job['id']}").json(),
        lambda state: state["status"] == "running" and state["progress"] > 0,
        what="the job to make progress",
    )
    started = time.monotonic()
    cancelled = http.delete(f"/v1/jobs/{job['id']}").json()
    assert cancelled["status"] == "cancelled"
    assert time.monotonic() - started < 10  # answered without waiting for the job to end
    assert 0 < cancelled["progress"] < 1.0
    # The worker stops at its next segment: a new job starts and finishes soon after.
    follow = _submit(http, clips["short"])
    assert _wait(http, str(follow["id"]), timeout=30)["status"] == "succeeded"
    assert http.get(f"/v1/jobs/{job['id']}").json()["status"] == "cancelled"


def test_cancel_of_a_queued_job_and_unknown_ids(http: httpx.Client, clips: dict[str, Path]) -> None:
    first = _submit(http, clips["long"])
    queued = _submit(http, clips["short"])
    assert http.delete(f"/v1/jobs/{queued['id']}").json()["status"] == "cancelled"
    assert http.delete(f"/v1/jobs/{first['id']}").json()["status"] == "cancelled"
    missing = "job-" + "0" * 32
    assert http.get(f"/v1/jobs/{missing}").status_code == 404
    assert http.delete(f"/v1/jobs/{missing}").status_code == 404
    assert http.get(f"/v1/jobs/{missing}/events").status_code == 404
    assert http.get("/v1/jobs/..").status_code in (400, 404)
    assert http.get("/v1/jobs/job-nope").status_code == 400


def test_results_survive_a_restart_and_a_killed_job_is_failed(
    tmp_path: Path, clips: dict[str, Path]
) -> None:
    engine = start_engine(tmp_path)
    try:
        with engine.http() as http:
            done = _submit(http, clips["short"], response_format="text")
            finished = _wait(http, str(done["id"]))
            assert finished["status"] == "succeeded"
            running = _submit(http, clips["long"])
            wait_for(
                lambda: http.get(f"/v1/jobs/{running['id']}").json()["status"],
                lambda status: status == "running",
                what="the long job to start",
            )
        assert engine.process.process is not None
        os.kill(engine.process.process.pid, signal.SIGKILL)  # the engine dies mid-job
        engine.process.process.wait(10)
    finally:
        engine.process.stop()
    again = start_engine(tmp_path)
    try:
        with again.http() as http:
            kept = http.get(f"/v1/jobs/{done['id']}").json()
            assert kept["status"] == "succeeded"
            assert kept["result"] == finished["result"]
            failed = http.get(f"/v1/jobs/{running['id']}").json()
            assert failed["status"] == "failed"
            assert "stopped while this job was running" in failed["error"]
    finally:
        again.process.stop()


def test_bad_job_requests(http: httpx.Client, clips: dict[str, Path]) -> None:
    with clips["short"].open("rb") as f:
        wrong_kind = http.post("/v1/jobs", files={"file": f}, data={"kind": "painting"})
    assert wrong_kind.status_code == 400
    assert wrong_kind.json()["error"]["param"] == "kind"
    with clips["short"].open("rb") as f:
        wrong_model = http.post("/v1/jobs", files={"file": f}, data={"model": "whisper-huge"})
    assert wrong_model.status_code == 404
    not_audio = _submit(http, Path(__file__))
    failed = _wait(http, str(not_audio["id"]))
    assert failed["status"] == "failed"
    assert "could not be read as audio" in str(failed["error"])


def test_job_client_and_cli(
    engine_server: RunningEngine, clips: dict[str, Path], tmp_path: Path
) -> None:
    import subprocess
    import sys

    from tests.conftest import engine_env

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "transcribe",
            str(clips["short"]),
            "--format",
            "vtt",
            "--out",
            str(tmp_path),
        ],
        env=engine_env(engine_server.home),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    output = tmp_path / "short.vtt"
    assert output.read_text().startswith("WEBVTT")
    assert "100%" in done.stderr
