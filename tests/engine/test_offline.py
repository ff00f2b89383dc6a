"""The offline promise as tested properties: only loopback, with and without a network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import start_engine
from tests.egress_log import OFFLINE, attempts, outside_loopback

ROOT = Path(__file__).resolve().parent.parent.parent
PROBE = [sys.executable, str(ROOT / "tests" / "offline_probe.py")]


def _probe(home: Path, log: Path | None, *prefix: str) -> dict[str, object]:
    args = [*prefix, *PROBE, str(home), *([str(log)] if log else [])]
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=600, cwd=ROOT, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_every_feature_connects_only_to_loopback(tmp_path: Path) -> None:
    log = tmp_path / "egress.log"
    result = _probe(tmp_path / "home", log)
    assert all(result["ok"].values()), result  # type: ignore[union-attr]
    events = {event for event, _target in attempts(log)}
    assert "socket.connect" in events, "the guard saw no connection at all: it is not working"
    assert outside_loopback(log) == []


def test_the_guard_sees_lookups_datagrams_and_connects(tmp_path: Path) -> None:
    """The guard itself: a lookup, a UDP datagram and a connect to outside hosts are recorded
    (none needs to succeed), so the test above could fail."""
    log = tmp_path / "egress.log"
    code = (
        "import socket\n"
        "for call in (lambda: socket.getaddrinfo('example.invalid', 443),\n"
        "             lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
        ".sendto(b'x', ('192.0.2.1', 53)),\n"
        "             lambda: socket.create_connection(('192.0.2.1', 9), timeout=0.2)):\n"
        "    try:\n        call()\n    except OSError:\n        pass\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests" / "egress"),
           "HEARTH_EGRESS_LOG": str(log)}  # fmt: skip
    subprocess.run([*OFFLINE, sys.executable, "-c", code], env=env, check=True, timeout=60)
    seen = {(event, str(target[0])) for event, target in outside_loopback(log)}  # type: ignore[index]
    assert ("socket.getaddrinfo", "example.invalid") in seen
    assert ("socket.sendto", "192.0.2.1") in seen
    assert ("socket.connect", "192.0.2.1") in seen


def test_in_a_network_namespace_with_only_loopback(tmp_path: Path) -> None:
    outside = _probe(tmp_path / "online", None)
    assert all(outside["ok"].values()), outside  # type: ignore[union-attr]
    log = tmp_path / "egress.log"
    inside = _probe(tmp_path / "offline", log, *OFFLINE)
    assert all(inside["ok"].values()), inside  # type: ignore[union-attr]
    # Nothing reached for the network there either (a lookup would have timed out or failed).
    assert outside_loopback(log) == []


def test_with_a_provider_configured_connects_go_only_to_its_host(tmp_path: Path) -> None:
    log = tmp_path / "egress.log"
    engine = start_engine(
        tmp_path / "home",
        _env_extra={"PYTHONPATH": str(ROOT / "tests" / "egress"), "HEARTH_EGRESS_LOG": str(log)},
        remote_connect_timeout=1,
        remote_attempts=1,
    )
    try:
        with engine.http() as http:
            assert http.get("/health").json()["fully_local"] is True
            # 203.0.113.0/24 is reserved for documentation: nothing answers there.
            http.post(
                "/v1/providers",
                json={"name": "far", "base_url": "http://203.0.113.7:8000/v1", "models": ["m"]},
            )
            health = http.get("/health").json()
            assert health["fully_local"] is False
            assert health["remote_hosts"] == ["203.0.113.7"]
            http.post(
                "/v1/chat/completions",
                json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3},
            )
            http.post(
                "/v1/chat/completions",
                json={"model": "far/m", "messages": [{"role": "user", "content": "hi"}]},
            )
    finally:
        engine.process.stop()
    outside = outside_loopback(log)
    assert ("socket.connect", ("203.0.113.7", 8000)) in outside, "the remote request never left"
    assert {str(target[0]) for _event, target in outside} == {"203.0.113.7"}  # type: ignore[index]
