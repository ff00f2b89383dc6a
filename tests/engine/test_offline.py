"""The offline promise as tested properties: only loopback, with and without a network."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import engine_env, start_engine

ROOT = Path(__file__).resolve().parent.parent.parent
PROBE = [sys.executable, str(ROOT / "tests" / "offline_probe.py")]


def _addresses(log: Path) -> list[object]:
    return [ast.literal_eval(line) for line in log.read_text().splitlines()] if log.exists() else []


def _is_loopback(address: object) -> bool:
    if isinstance(address, str):
        return True  # a Unix socket path: local by definition
    host = str(address[0])  # type: ignore[index]
    return host.startswith("127.") or host in ("::1", "localhost")


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
    addresses = _addresses(log)
    assert addresses, "the guard saw no connection at all: it is not working"
    assert [a for a in addresses if not _is_loopback(a)] == []


def test_in_a_network_namespace_with_only_loopback(tmp_path: Path) -> None:
    outside = _probe(tmp_path / "online", None)
    inside = _probe(
        tmp_path / "offline",
        None,
        "unshare",
        "--net",
        "--",
        "sh",
        "-c",
        'ip link set lo up && exec "$0" "$@"',
    )
    assert all(inside["ok"].values()), inside  # type: ignore[union-attr]
    # A network time-out on the way up would add seconds.
    assert float(inside["startup_seconds"]) < float(outside["startup_seconds"]) * 1.5 + 2  # type: ignore[arg-type]


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
    outside = [a for a in _addresses(log) if not _is_loopback(a)]
    assert outside, "the remote request was never attempted"
    assert {str(a[0]) for a in outside} == {"203.0.113.7"}  # type: ignore[index]
    assert engine_env(tmp_path)  # the helper is importable for the CLI run in the probe
