"""`hearth-engine`: process set-up and the engine's own commands (serve, token, install)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import HearthError
from engine.offline import apply_offline_environment
from engine.settings import EngineSettings

if TYPE_CHECKING:
    from engine.security.key_vault import KeyVault

log = logging.getLogger("engine")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hearth-engine", description="Hearth's local engine")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the engine (the default)")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (0 picks a free one)")
    serve.add_argument(
        "--allow-remote-bind",
        action="store_true",
        help="allow binding an address other than loopback (exposes the engine to the network)",
    )
    sub.add_parser("token", help="print the local API token (created on first use)")
    sub.add_parser("install-models", help="install the embedded default models")
    sub.add_parser("paths", help="print where Hearth keeps its files")
    sub.add_parser("connection", help="print the token and a running engine's URL, as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Libraries must not reach for the network at run time (offline promise).
    apply_offline_environment()
    overrides: dict[str, object] = {}
    if args.command == "serve":
        if args.host:
            overrides["host"] = args.host
        if args.port is not None:
            overrides["port"] = args.port
        if args.allow_remote_bind:
            overrides["allow_remote_bind"] = True
    try:
        settings = EngineSettings(**overrides)  # type: ignore[arg-type]
        if args.command == "token":
            print(_token(settings))
        elif args.command == "install-models":
            _install_models(settings)
        elif args.command == "connection":
            print(json.dumps({"token": _token(settings), "url": _running_url(settings)}))
        elif args.command == "paths":
            dirs = settings.dirs
            for name in ("data", "config", "cache", "runtime"):
                print(f"{name}: {getattr(dirs, name)}")
            print(f"embedded models: {settings.embedded_models_dir}")
        else:
            return _serve(settings)
    except HearthError as exc:
        if args.command == "connection":
            print(json.dumps({"error": {"message": exc.message, "code": exc.code}}))
        print(f"hearth-engine: {exc.message}", file=sys.stderr)
        return 1
    return 0


def open_key_vault(settings: EngineSettings) -> KeyVault:
    """The key store; the encrypted file is unlocked only when a passphrase is configured."""
    from engine.security.key_vault import WrongPassphrase, open_vault

    vault = open_vault(
        settings.keystore,
        settings.dirs.keystore_file,
        settings.keystore_timeout_seconds,
        settings.keystore_unlock_seconds,
    )
    secret = settings.keystore_passphrase
    if secret is not None and vault.state in ("locked", "new"):
        try:
            vault.unlock(secret.get_secret_value())
        except WrongPassphrase:
            log.warning(
                "HEARTH_KEYSTORE_PASSPHRASE does not open the key store; it stays locked until "
                "the right passphrase is given"
            )
    return vault


def _token(settings: EngineSettings, vault: KeyVault | None = None) -> str:
    """The local API token from its file. An engine that finds none takes over the token an
    earlier version kept in an open key store, so clients set up then keep working."""
    from engine.security.api_token import TOKEN_NAME, ensure_api_token

    def earlier() -> str | None:
        if vault is None or vault.state != "unlocked":
            return None
        try:
            token = vault.get(TOKEN_NAME)
            if token is not None:
                vault.delete(TOKEN_NAME)
            return token
        except HearthError:
            return None

    return ensure_api_token(settings.dirs.token_file, earlier)


def _install_models(settings: EngineSettings) -> None:
    from engine.registry.catalog import load_catalog
    from engine.registry.embedded import install_embedded

    install_embedded(load_catalog(settings.catalog_path), settings.embedded_models_dir)


def _running_url(settings: EngineSettings) -> str | None:
    """The URL of an engine running with these settings, from its connection file."""
    try:
        info = json.loads(settings.dirs.connection_file.read_text(encoding="utf-8"))
        os.kill(int(info["pid"]), 0)
        return str(info["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_connection_file(path: Path, url: str, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"url": url, "pid": pid}), encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _serve(settings: EngineSettings) -> int:
    import uvicorn

    from engine.api.app import create_app

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    if not settings.is_loopback_bind():
        if not settings.allow_remote_bind:
            print(
                f"hearth-engine: refusing to bind {settings.host}: only loopback is allowed "
                "unless --allow-remote-bind is given",
                file=sys.stderr,
            )
            return 2
        log.warning(
            "binding %s: the engine is reachable from the network (token required)", settings.host
        )
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        print(
            f"hearth-engine: cannot listen on port {settings.port}: {exc.strerror}", file=sys.stderr
        )
        return 1
    port = sock.getsockname()[1]
    host = f"[{settings.host}]" if family == socket.AF_INET6 else settings.host
    url = f"http://{host}:{port}"
    vault = open_key_vault(settings)
    app = create_app(settings, _token(settings, vault), vault)
    config = uvicorn.Config(
        app,
        log_level=settings.log_level,
        access_log=settings.access_log,
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    connection = settings.dirs.connection_file
    _write_connection_file(connection, url, os.getpid())
    print(f"Hearth engine listening on {url}", flush=True)
    # uvicorn shuts down gracefully, then re-raises the signal it caught; end quietly then.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        connection.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
