"""`hearth`: the desktop app (once it lands) and terminal commands: serve, chat, models, token."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from app import providers_cli, transcribe_cli
from app.engine_client import EngineClient, EngineError, EngineUnavailable, KeyStoreLockedError
from app.engine_client.launcher import EngineProcess, engine_command, find_connection
from app.unlock_cli import TerminalUnlocker


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hearth", description="Hearth, an on-device assistant")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the engine in the foreground")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--allow-remote-bind", action="store_true")
    chat = sub.add_parser("chat", help="chat in the terminal (or answer one prompt)")
    chat.add_argument("prompt", nargs="?", help="answer this and exit")
    chat.add_argument("--model", "-m", help="model id (default: the engine's default)")
    chat.add_argument("--system", "-s", help="system prompt")
    chat.add_argument("--temperature", type=float)
    chat.add_argument("--max-tokens", type=int)
    models = sub.add_parser("models", help="list models")
    models_sub = models.add_subparsers(dest="models_command")
    models_sub.add_parser("list", help="list installed models")
    show = models_sub.add_parser("show", help="show what a model's file says")
    show.add_argument("model")
    pull = models_sub.add_parser("pull", help="download a catalog model or a GGUF URL")
    pull.add_argument("source", help="a catalog id or an http(s) URL of a .gguf file")
    imported = models_sub.add_parser("import", help="copy a local .gguf into Hearth's models")
    imported.add_argument("file", type=Path)
    rm = models_sub.add_parser("rm", help="remove a downloaded or imported model")
    rm.add_argument("model")
    create = models_sub.add_parser("create", help="a custom model: base, prompt, defaults, LoRA")
    create.add_argument("id")
    create.add_argument("--from", dest="base", required=True, help="the base model's id")
    create.add_argument("--system", help="its system prompt")
    create.add_argument("--lora", action="append", default=[], help="ADAPTER.gguf[:SCALE] (repeat)")
    create.add_argument("--param", action="append", default=[], help="KEY=VALUE default (repeat)")
    sub.add_parser("token", help="print the local API token")
    ocr = sub.add_parser("ocr", help="print the text in images (English and Chinese)")
    ocr.add_argument("images", nargs="+", type=Path)
    caption = sub.add_parser("caption", help="describe images with an installed vision model")
    caption.add_argument("images", nargs="+", type=Path)
    caption.add_argument("--prompt", "-p", help="what to ask about each image")
    caption.add_argument("--model", "-m", help="the vision model (default: the first installed)")
    keys = sub.add_parser("keys", help="secrets in the key store (remote providers' API keys)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    set_key = keys_sub.add_parser("set", help="store a key (asked without echo, or from stdin)")
    set_key.add_argument("name")
    keys_sub.add_parser("list", help="key names (never values)")
    delete_key = keys_sub.add_parser("delete", help="remove a key")
    delete_key.add_argument("name")
    keys_sub.add_parser(
        "unlock", help="open the encrypted key store (asked, or read from stdin; first use sets it)"
    )
    keys_sub.add_parser("status", help="whether the key store is unlocked, locked or new")
    transcribe_cli.add_parser(sub)
    providers_cli.add_parsers(sub)
    return parser


@contextmanager
def engine_client(out: TextIO = sys.stderr) -> Iterator[EngineClient]:
    """A client of the running engine, or of one started for this command and stopped after."""
    conn = find_connection()
    started: EngineProcess | None = None
    url = conn.url
    if url is not None:
        try:
            with EngineClient(url, conn.token, timeout=5) as probe:
                probe.health()
        except EngineUnavailable:
            url = None
    if url is None:
        print("Starting the engine…", file=out, flush=True)
        started = EngineProcess()
        url = started.start()
    try:
        with EngineClient(url, conn.token) as client:
            if sys.stdin.isatty():
                client.unlocker = TerminalUnlocker()
            yield client
    finally:
        if started is not None:
            started.stop()


def run_keys(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    with engine_client() as client:
        if args.keys_command == "list":
            for name in client.key_names():
                print(name, file=out)
        elif args.keys_command == "status":
            print(client.key_store_state(), file=out)
        elif args.keys_command == "unlock":
            if sys.stdin.isatty():
                return 0 if TerminalUnlocker()(client) else 1
            print(f"key store {client.unlock_keys(sys.stdin.readline().rstrip(chr(10)))}", file=out)
        elif args.keys_command == "delete":
            client.delete_key(args.name)
            print(f"deleted {args.name}", file=out)
        else:
            if sys.stdin.isatty():
                import getpass

                value = getpass.getpass(f"Value for {args.name}: ")
            else:
                value = sys.stdin.read().strip()
            if not value:
                print("hearth: no value given; nothing stored", file=sys.stderr)
                return 1
            client.set_key(args.name, value)
            print(f"stored {args.name}", file=out)
    return 0


def _chat_params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if args.model:
        params["model"] = args.model
    if args.temperature is not None:
        params["temperature"] = args.temperature
    if args.max_tokens is not None:
        params["max_tokens"] = args.max_tokens
    return params


def _stream_reply(
    client: EngineClient, messages: list[dict[str, Any]], params: dict[str, Any], out: TextIO
) -> str:
    """Print a reply as it streams; Ctrl-C stops it and keeps what came so far."""
    text = ""
    stream = client.stream_chat(messages, **params)
    try:
        for delta in stream.deltas():
            text += delta
            out.write(delta)
            out.flush()
    except KeyboardInterrupt:
        out.write(" [stopped]")
    finally:
        stream.close()
        out.write("\n")
    return text


def run_chat(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    params = _chat_params(args)
    messages: list[dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    with engine_client() as client:
        if args.prompt is not None:
            messages.append({"role": "user", "content": args.prompt})
            _stream_reply(client, messages, params, out)
            return 0
        model = args.model or client.health().default_model
        print(f"Chatting with {model}. Ctrl-C stops a reply; Ctrl-D or /exit quits.", file=out)
        while True:
            try:
                line = input("you> ")
            except (EOFError, KeyboardInterrupt):
                print(file=out)
                return 0
            if line.strip() in ("/exit", "/quit"):
                return 0
            if not line.strip():
                continue
            messages.append({"role": "user", "content": line})
            try:
                reply = _stream_reply(client, messages, params, out)
            except EngineError as exc:
                print(f"error: {exc.message}", file=sys.stderr)
                messages.pop()
                continue
            messages.append({"role": "assistant", "content": reply})


def _lora(text: str) -> dict[str, Any]:
    path, _, scale = text.rpartition(":") if text.count(":") else (text, "", "")
    if not path:
        path, scale = text, ""
    resolved = Path(path).expanduser()
    name = str(resolved.resolve()) if resolved.exists() else path
    return {"path": name, "scale": float(scale) if scale else 1.0}


def _param(text: str) -> tuple[str, Any]:
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def _pull(client: EngineClient, source: str, out: TextIO) -> int:
    is_url = source.startswith(("http://", "https://"))
    events = client.pull(url=source) if is_url else client.pull(model=source)
    for event in events:
        if event.get("status") == "downloading" and event.get("total"):
            fraction = int(event["completed"]) / int(event["total"])
            speed = float(event.get("bytes_per_second") or 0) / 1e6
            bar = "#" * int(30 * fraction)
            sys.stderr.write(
                f"\r{event['file'][:28]:28} [{bar:30}] {fraction:4.0%} {speed:6.1f} MB/s"
            )
            sys.stderr.flush()
        elif event.get("status") == "success":
            sys.stderr.write("\n")
            print(f"pulled {event['model']}", file=out)
    return 0


def run_models(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    with engine_client() as client:
        if args.models_command == "pull":
            return _pull(client, args.source, out)
        if args.models_command == "import":
            print(f"imported {client.import_model(args.file)}", file=out)
            return 0
        if args.models_command == "create":
            made = client.create_custom_model(
                id=args.id, base=args.base, system_prompt=args.system,
                loras=[_lora(text) for text in args.lora],
                parameters=dict(_param(text) for text in args.param),
            )  # fmt: skip
            print(f"created {made['id']} (from {made['base']})", file=out)
            return 0
        if args.models_command == "rm":
            client.remove_model(args.model)
            print(f"removed {args.model}", file=out)
            return 0
        if args.models_command == "show":
            detail = client.model(args.model)
            for key, value in detail.model_dump().items():
                if value not in (None, [], ""):
                    print(f"{key}: {value}", file=out)
            return 0
        listing = client.models()
        print(f"{'ID':32} {'KIND':8} {'SIZE':>9}  STATUS", file=out)
        for card in listing.data:
            size = f"{(card.size_bytes or 0) / 1e6:.0f} MB"
            status = ", ".join(
                s for s, on in (("loaded", card.loaded), ("embedded", card.embedded)) if on
            )
            print(f"{card.id:32} {card.kind:8} {size:>9}  {status}", file=out)
    return 0


def _display_available() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform in (
        "darwin",
        "win32",
    )


def main(argv: list[str] | None = None) -> int:
    from app.desktop import PROBE_FLAG, probe_display

    if (sys.argv[1:] if argv is None else argv) == [PROBE_FLAG]:
        return probe_display()
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            cmd = engine_command("serve")
            if args.host:
                cmd += ["--host", args.host]
            if args.port is not None:
                cmd += ["--port", str(args.port)]
            if args.allow_remote_bind:
                cmd.append("--allow-remote-bind")
            os.execv(cmd[0], cmd)  # noqa: S606 - becomes the engine, no shell
        if args.command == "token":
            print(find_connection().token)
            return 0
        if args.command == "keys":
            return run_keys(args)
        if args.command == "models":
            return run_models(args)
        if args.command == "chat":
            return run_chat(args)
        if args.command in ("providers", "usage"):
            with engine_client() as client:
                if args.command == "usage":
                    return providers_cli.run_usage(client, args)
                return providers_cli.run_providers(client, args)
        if args.command == "caption":
            with engine_client() as client:
                for image in args.images:
                    text = client.caption(image, args.prompt, args.model)
                    print(f"{image}: {text}" if len(args.images) > 1 else text)
            return 0
        if args.command == "ocr":
            with engine_client() as client:
                for image in args.images:
                    result = client.ocr(image)
                    if len(args.images) > 1:
                        print(f"== {image}")
                    print(result["text"])
            return 0
        if args.command == "transcribe":
            with engine_client() as client:
                return transcribe_cli.transcribe_files(client, args)
        reason = "there is no display"
        if _display_available():
            from app.desktop import desktop_problem, run_desktop

            problem = desktop_problem()
            if problem is None:
                return run_desktop()
            reason = problem
        print(f"Opening the terminal chat instead of the desktop app: {reason}.", file=sys.stderr)
        return run_chat(_parser().parse_args(["chat"]))
    except EngineError as exc:
        print(f"hearth: {exc.message}", file=sys.stderr)
        if isinstance(exc, KeyStoreLockedError) and not sys.stdin.isatty():
            print(
                "hearth: run the command in a terminal to be asked for the passphrase, or unlock "
                "first: `hearth keys unlock` reads it from standard input.",
                file=sys.stderr,
            )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
