"""Tools in stored conversations, with real parts: an MCP server written with the `mcp` SDK,
started over stdio (from engine.toml and through the API, a key-store secret in its environment)
and over streamable HTTP (one in a header), driven through the conversation API with approval,
denial, always-allow, a hanging tool and a crashing server. Calls are forced by tool_choice (a
grammar), so no test leans on the small model's choices; what a result says is checked against
the arguments the model wrote."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.settings import resolve_dirs
from tests.conftest import RunningEngine, start_engine
from tests.mcp_lab_server import EXPECTED_SECRET
from tests.upstream import free_port
from tests.waiting import wait_for

LAB = Path(__file__).resolve().parent.parent / "mcp_lab_server.py"
STDIO = [sys.executable, str(LAB)]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    """An engine whose engine.toml names the lab server over stdio, with a secret from the key
    store in its environment."""
    home = tmp_path_factory.mktemp("mcp")
    config = resolve_dirs(home).config
    config.mkdir(parents=True, exist_ok=True)
    (config / "engine.toml").write_text(
        "[[mcp_servers]]\n"
        f'name = "lab"\ncommand = {json.dumps(STDIO)}\ntimeout_seconds = 3\n'
        'env_keys = { LAB_TOKEN = "lab-token" }\n',
        encoding="utf-8",
    )
    running = start_engine(home)
    with running.http() as http:
        assert http.put("/v1/keys/lab-token", json={"value": EXPECTED_SECRET}).status_code == 200
    yield running
    running.process.stop()


@pytest.fixture
def http(engine: RunningEngine) -> Iterator[httpx.Client]:
    with engine.http() as client:
        yield client


def _conversation(http: httpx.Client) -> str:
    return str(http.post("/v1/conversations", json={}).json()["id"])


def _named(tool: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": tool}}


def _run_of(http: httpx.Client, tool: str) -> dict[str, Any]:
    """A turn that must call `tool` (forced); the call as the engine ran it."""
    conv = _conversation(http)
    body = {"content": f"Use {tool}.", "tools": True, "tool_choice": _named(tool),
            "max_tool_steps": 1, "max_tokens": 300, "temperature": 0}  # fmt: skip
    reply = http.post(f"/v1/conversations/{conv}/messages", json=body, timeout=120)
    assert reply.status_code == 200, reply.text
    runs = reply.json()["tool_runs"]
    assert len(runs) == 1, reply.text
    return dict(runs[0])


def _stream(
    engine: RunningEngine, conv: str, tool: str, decide: str | None, **extra: Any
) -> list[dict[str, Any]]:
    """Send a streamed turn; answer the first pending call with `decide` from a second client
    (as the desktop would). The tool_call events, in order, and the chunks' text."""
    events: list[dict[str, Any]] = []
    with engine.http() as http, http.stream(
        "POST", f"/v1/conversations/{conv}/messages", timeout=120,
        json={"content": f"Use {tool}.", "tools": True, "tool_choice": _named(tool), "stream": True,
              "max_tool_steps": 1, "max_tokens": 40, "temperature": 0, **extra},
    ) as response:  # fmt: skip
        assert response.status_code == 200, "\n".join(engine.process.log[-40:])
        for line in response.iter_lines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[6:])
            assert "error" not in chunk, chunk
            run = chunk.get("tool_call")
            if run:
                events.append(run)
                if run["status"] == "pending" and decide:
                    _decide_later(engine, conv, run["id"], decide)
    return events


def _decide_later(engine: RunningEngine, conv: str, call_id: str, action: str) -> None:
    def answer() -> None:
        with engine.http() as other:
            reply = other.post(f"/v1/conversations/{conv}/tool_calls/{call_id}",
                               json={"action": action})  # fmt: skip
            assert reply.status_code == 200, reply.text

    threading.Thread(target=answer).start()


def _audit(http: httpx.Client) -> list[dict[str, Any]]:
    return list(http.get("/v1/tools/audit").json()["data"])


def test_a_configured_server_lists_its_tools(http: httpx.Client) -> None:
    info = http.get("/v1/mcp/servers/lab", params={"start": True}).json()
    assert info["source"] == "config"
    assert info["status"] == "running"
    names = {t["name"] for t in info["tools"]}
    assert {"lab__add", "lab__hang", "lab__crash", "lab__secret_arrived"} <= names
    offered = {t["function"]["name"] for t in http.get("/v1/tools").json()["data"]}
    assert {"calculate", "current_time", "search_memories", "lab__add"} <= offered


def test_an_approved_call_runs_and_its_result_goes_back_to_the_model(
    engine: RunningEngine, http: httpx.Client
) -> None:
    conv = _conversation(http)
    events = _stream(engine, conv, "lab__add", "approve")
    assert [e["status"] for e in events] == ["pending", "running", "done"]
    args = json.loads(events[0]["arguments"])
    assert events[-1]["result"] == str(args["a"] + args["b"])
    stored = http.get(f"/v1/conversations/{conv}").json()["messages"]
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert stored[1]["tool_calls"][0]["id"] == events[0]["id"]
    assert stored[2]["tool_call_id"] == events[0]["id"]
    assert stored[2]["content"] == events[-1]["result"]
    assert stored[3]["finish_reason"] in ("stop", "length")  # the last step may not call
    row = next(r for r in _audit(http) if r["call_id"] == events[0]["id"])
    assert (row["tool"], row["server"], row["outcome"]) == ("lab__add", "lab", "ok")
    assert row["arguments_sha256"] == hashlib.sha256(events[0]["arguments"].encode()).hexdigest()
    assert events[0]["arguments"] not in json.dumps(row)


def test_a_denied_call_does_not_run(engine: RunningEngine, http: httpx.Client) -> None:
    conv = _conversation(http)
    events = _stream(engine, conv, "lab__crash", "deny")  # it would end the server if it ran
    assert [e["status"] for e in events] == ["pending", "denied"]
    assert http.get("/v1/mcp/servers/lab").json()["status"] == "running"
    stored = http.get(f"/v1/conversations/{conv}").json()["messages"]
    assert stored[2]["content"] == "The user did not allow this call."
    assert any(r["call_id"] == events[0]["id"] and r["outcome"] == "denied" for r in _audit(http))


def test_always_allow_stops_asking_for_that_tool(engine: RunningEngine, http: httpx.Client) -> None:
    conv = _conversation(http)
    first = _stream(engine, conv, "lab__secret_arrived", "always")
    assert [e["status"] for e in first] == ["pending", "running", "done"]
    assert first[-1]["result"] == "yes"  # the key store's secret reached the server's env
    second = _stream(engine, conv, "lab__secret_arrived", None)
    assert [e["status"] for e in second] == ["running", "done"]
    info = http.get("/v1/mcp/servers/lab").json()
    tool = next(t for t in info["tools"] if t["name"] == "lab__secret_arrived")
    assert tool["always_allow"] is True
    assert EXPECTED_SECRET not in "\n".join(engine.process.log)


def test_a_hanging_tool_is_stopped_and_the_server_restarted(
    engine: RunningEngine, http: httpx.Client
) -> None:
    http.patch("/v1/mcp/servers/lab", json={"tools": {"hang": {"always_allow": True},
                                                      "add": {"always_allow": True}}})  # fmt: skip
    run = _run_of(http, "lab__hang")
    assert run["status"] == "failed"
    assert "no answer in 3 s" in run["result"]
    assert http.get("/v1/mcp/servers/lab").json()["status"] == "exited"
    again = _run_of(http, "lab__add")
    assert again["status"] == "done"  # started afresh on the next use
    assert http.get("/v1/mcp/servers/lab").json()["status"] == "running"
    # The hung server's process is gone: only the new one is left.
    wait_for(lambda: len(_lab_servers_of(engine)) == 1, timeout=20, what="one lab server")


def test_a_crashing_server_is_reported_and_restarted_on_next_use(
    engine: RunningEngine, http: httpx.Client
) -> None:
    http.patch("/v1/mcp/servers/lab", json={"tools": {"crash": {"always_allow": True},
                                                      "add": {"always_allow": True}}})  # fmt: skip
    run = _run_of(http, "lab__crash")
    assert run["status"] == "failed"
    assert run["result"].startswith("Error: the MCP server 'lab'")
    status = http.get("/v1/mcp/servers/lab").json()
    assert status["status"] in ("error", "exited")
    assert status["error"]
    assert "/" not in status["error"]  # no paths in what the API says
    again = _run_of(http, "lab__add")
    assert again["status"] == "done"


def test_a_long_result_is_cut_before_it_enters_the_context(http: httpx.Client) -> None:
    http.patch("/v1/mcp/servers/lab", json={"tools": {"big": {"always_allow": True}}})
    run = _run_of(http, "lab__big")
    assert run["status"] == "done"
    assert run["result"].startswith("x" * 8000 + "\n[... 42000 more characters left out]")


def test_builtin_tools_run_without_approval(http: httpx.Client) -> None:
    from engine.tools.builtin import evaluate, format_number

    run = _run_of(http, "calculate")
    args = json.loads(run["arguments"])
    try:
        expected = format_number(evaluate(args["expression"]))
    except Exception as exc:  # the model may write something the calculator refuses
        expected = f"Error: {exc}"
    assert run["server"] == "builtin"
    assert run["result"] == expected
    http.post("/v1/memories", json={"content": "The user's cat is called Miso."})
    run = _run_of(http, "search_memories")
    assert run["status"] == "done"


def test_a_server_over_streamable_http_added_through_the_api(
    engine: RunningEngine, http: httpx.Client
) -> None:
    port = free_port()
    server = subprocess.Popen([*STDIO, "http", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        wait_for(lambda: _listening(port), timeout=30, what="the HTTP MCP server")
        added = http.post("/v1/mcp/servers", json={"name": "far", "url": url})
        assert added.status_code == 201, added.text
        assert added.json()["status"] == "running"
        assert "far__add" in {t["name"] for t in added.json()["tools"]}
        http.patch("/v1/mcp/servers/far", json={"tools": {"add": {"always_allow": True}}})
        run = _run_of(http, "far__add")
        args = json.loads(run["arguments"])
        assert run["result"] == str(args["a"] + args["b"])
        # Switched off, its tools are no longer offered; removed, it is gone.
        http.patch("/v1/mcp/servers/far", json={"tools": {"add": {"enabled": False}}})
        offered = {t["function"]["name"] for t in http.get("/v1/tools").json()["data"]}
        assert "far__add" not in offered
        assert "far__hang" in offered
        assert http.delete("/v1/mcp/servers/far").status_code == 200
        assert http.get("/v1/mcp/servers/far").status_code == 404
        # A header taken from the key store reaches the server with each request; without it
        # the same tool says no: the test can tell the two apart.
        assert _secret_arrived(http, "keyed", url, {"X-Lab-Token": "lab-token"}) == "yes"
        assert _secret_arrived(http, "bare", url, {}) == "no"
        assert EXPECTED_SECRET not in "\n".join(engine.process.log)
    finally:
        server.terminate()
        server.wait(10)


def _secret_arrived(http: httpx.Client, name: str, url: str, header_keys: dict[str, str]) -> str:
    """Add the HTTP lab server as `name` with these key-store headers, call its secret_arrived
    tool, remove it; what the tool said. The secret shows in none of the engine's replies."""
    added = http.post("/v1/mcp/servers", json={"name": name, "url": url,
                                               "header_keys": header_keys})  # fmt: skip
    assert added.status_code == 201, added.text
    assert EXPECTED_SECRET not in added.text
    http.patch(f"/v1/mcp/servers/{name}",
               json={"tools": {"secret_arrived": {"always_allow": True}}})  # fmt: skip
    said = str(_run_of(http, f"{name}__secret_arrived")["result"])
    assert EXPECTED_SECRET not in http.get(f"/v1/mcp/servers/{name}").text
    assert http.delete(f"/v1/mcp/servers/{name}").status_code == 200
    return said


def _lab_servers_of(engine: RunningEngine) -> list[int]:
    """The engine's child processes running the lab server (read from /proc)."""
    assert engine.process.process is not None
    parent = str(engine.process.process.pid)
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if fields[1] == parent and b"mcp_lab_server.py" in cmdline:
            found.append(int(stat.parent.name))
    return found


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"name": "both", "command": ["x"], "url": "http://127.0.0.1:1/mcp"}, 400, "command"),
        ({"name": "none"}, 400, "command"),
        ({"name": "lab", "command": ["x"]}, 400, "name"),
        ({"name": "Bad Name!", "command": ["x"]}, 400, None),
    ],
)
def test_bad_servers_are_refused(
    http: httpx.Client, body: dict[str, Any], status: int, param: str | None
) -> None:
    reply = http.post("/v1/mcp/servers", json=body)
    assert reply.status_code == status, reply.text
    if param:
        assert reply.json()["error"]["param"] == param


def test_a_server_that_cannot_start_says_why(http: httpx.Client) -> None:
    added = http.post("/v1/mcp/servers",
                      json={"name": "broken", "command": [sys.executable, "-c", "raise SystemExit(4)"],
                            "timeout_seconds": 10})  # fmt: skip
    assert added.status_code == 201
    assert added.json()["status"] in ("error", "exited")
    assert http.delete("/v1/mcp/servers/broken").status_code == 200
    assert http.delete("/v1/mcp/servers/lab").status_code == 400  # engine.toml's own


def test_deciding_an_unknown_call_is_404(http: httpx.Client) -> None:
    conv = _conversation(http)
    reply = http.post(
        f"/v1/conversations/{conv}/tool_calls/call_0123abcd", json={"action": "approve"}
    )
    assert reply.status_code == 404
