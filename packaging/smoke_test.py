"""`make package-test`: the built folder works on its own.

The built engine starts, answers /health and one chat request; the built app starts offscreen,
starts its own engine, and quits cleanly. Uses only the standard library (the bundle is what is
tested, not this environment).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

DIST = Path(__file__).resolve().parent.parent / "dist" / "hearth"


def _request(url: str, token: str, body: dict[str, object] | None = None) -> dict[str, object]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(  # noqa: S310 - the engine on loopback
        url,
        data=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=120) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())  # type: ignore[no-any-return]


def main() -> int:
    for name in ("hearth", "hearth-engine", "hearth.desktop", "hearth.svg"):
        assert (DIST / name).exists(), f"{name} is missing from {DIST}"
    home = Path(tempfile.mkdtemp(prefix="hearth-package-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(HEARTH_HOME=str(home), HEARTH_KEYSTORE="file", HEARTH_LOG_LEVEL="warning")
    env["HEARTH_KEYSTORE_PASSPHRASE"] = "package-smoke-test"  # noqa: S105 - a scratch store
    env["PYTHONPATH"] = ""  # nothing from this checkout may leak into the bundle

    started = time.monotonic()
    engine = subprocess.Popen(
        [str(DIST / "hearth-engine"), "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = None
        assert engine.stdout is not None
        for line in engine.stdout:
            if line.startswith("Hearth engine listening on "):
                url = line.split(" on ", 1)[1].strip()
                break
        assert url, "the built engine did not start"
        token = subprocess.run(
            [str(DIST / "hearth-engine"), "token"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        health = _request(url + "/health", token)
        assert health["status"] == "ok", health
        print(
            f"engine up in {time.monotonic() - started:.1f} s, default model "
            f"{health['default_model']}"
        )
        reply = _request(
            url + "/v1/chat/completions",
            token,
            {"messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 8},
        )
        text = reply["choices"][0]["message"]["content"]  # type: ignore[index]
        assert text, reply
        print(f"chat answered: {text!r}")
        models = _request(url + "/v1/models", token)
        assert any(m["id"] == "whisper-tiny.en" for m in models["data"]), models  # type: ignore[index,union-attr]
    finally:
        engine.terminate()
        engine.wait(30)

    app_env = {
        **env,
        "QT_QPA_PLATFORM": "offscreen",
        "DISPLAY": ":0",
        "HEARTH_QUIT_WHEN_READY": "1",
    }
    started = time.monotonic()
    app = subprocess.run(
        [str(DIST / "hearth")], env=app_env, capture_output=True, text=True, timeout=180
    )
    assert app.returncode == 0, app.stderr[-2000:]
    assert "terminal chat" not in app.stderr, app.stderr[-2000:]
    assert not (home / "run" / "engine.json").exists(), "the app left its engine running"
    print(f"app started its engine and quit cleanly in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
