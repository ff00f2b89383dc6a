"""Write the engine's API reference (Markdown) from its OpenAPI schema: `make docs`.

The schema comes from the app itself (create_app builds routes without starting anything), so
the reference cannot drift from the code; a test checks docs/api.md is up to date.
"""

from __future__ import annotations

import inspect
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

METHODS = ("get", "post", "put", "patch", "delete")
INTRO = """# Hearth engine API reference

Generated from the engine's OpenAPI schema by `make docs` (`scripts/api_docs.py`); do not edit
by hand. The engine listens on `http://127.0.0.1:8931` by default. Every `/v1` route needs
`Authorization: Bearer <token>` (`hearth token` prints it); `/health` and `/metrics` do not.
Errors are OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`. Routes that stream
(`"stream": true`, job and pull events) answer with server-sent events.
"""


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_type(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(f"`{v}`" if isinstance(v, str) else str(v) for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list[{_type(schema.get('items', {}))}]"
    if kind == "object" and "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        return f"map[{_type(extra) if isinstance(extra, dict) else 'any'}]"
    return str(kind)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render(spec: dict[str, Any]) -> str:
    out = [INTRO]
    groups: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in spec["paths"].items():
        parts = path.strip("/").split("/")
        group = parts[1] if parts[0] == "v1" and len(parts) > 1 else parts[0]
        for method in METHODS:
            if method in item:
                groups.setdefault(group, []).append((method.upper(), path, item[method]))
    for path, doc in spec.get("x-websockets", {}).items():
        parts = path.strip("/").split("/")
        groups.setdefault(parts[1], []).append(("WEBSOCKET", path, {"description": doc}))
    for group in sorted(groups):
        out.append(f"\n## {group}\n")
        for method, path, op in groups[group]:
            out.append(f"### `{method} {path}`\n")
            doc = (op.get("description") or op.get("summary") or "").strip()
            if doc:
                out.append(_cell(doc) + "\n")
            params = op.get("parameters", [])
            if params:
                out.append("| parameter | in | type | required |\n|---|---|---|---|")
                for p in params:
                    required = "yes" if p.get("required") else ""
                    ptype = _type(p.get("schema", {}))
                    out.append(f"| `{p['name']}` | {p['in']} | {_cell(ptype)} | {required} |")
                out.append("")
            body = op.get("requestBody", {}).get("content", {})
            for media, content in body.items():
                schema = content.get("schema", {})
                if "properties" in schema:  # a multipart form: list its fields
                    out.append(f"Body ({media}):\n\n| field | meaning |\n|---|---|")
                    for name, field in schema["properties"].items():
                        meaning = field.get("description") or ("the file" if name == "file" else "")
                        out.append(f"| `{name}` | {_cell(meaning)} |")
                    out.append("")
                else:
                    out.append(f"Body ({media}): {_type(schema)}\n")
            # Validation errors are answered 400 in OpenAI's shape (FastAPI's default says 422).
            codes = ", ".join(sorted({c.replace("422", "400") for c in op.get("responses", {})}))
            out.append(f"Responses: {codes}\n")
    out.append("\n## Schemas\n")
    for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items()):
        out.append(f"### {name}\n")
        if schema.get("description"):
            out.append(_cell(schema["description"]) + "\n")
        props = schema.get("properties", {})
        if props:
            required = set(schema.get("required", []))
            out.append("| field | type | required |\n|---|---|---|")
            for field, fs in props.items():
                mark = "yes" if field in required else ""
                out.append(f"| `{field}` | {_cell(_type(fs))} | {mark} |")
            out.append("")
        elif "enum" in schema:
            out.append(f"One of: {_type(schema)}\n")
    return "\n".join(out).rstrip() + "\n"


def openapi() -> dict[str, Any]:
    from fastapi.routing import APIWebSocketRoute

    from engine.api.app import create_app
    from engine.security.keystore import EncryptedFileStore
    from engine.settings import EngineSettings

    with tempfile.TemporaryDirectory() as home:
        settings = EngineSettings(home=Path(home))
        store = EncryptedFileStore(Path(home) / "unused.enc", "unused")
        app = create_app(settings, "unused", store)
        spec = app.openapi()
        # OpenAPI has no WebSockets: their routes are listed from the app, with their docstrings.
        spec["x-websockets"] = {
            route.path: inspect.getdoc(route.endpoint) or ""
            for route in _routes(app.routes)
            if isinstance(route, APIWebSocketRoute)
        }
        return spec


def _routes(routes: list[Any]) -> list[Any]:
    """Every route, into included routers (FastAPI keeps those as one entry each)."""
    found = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        found.extend(_routes(inner.routes) if inner is not None else [route])
    return found


def main(target: Path) -> int:
    target.write_text(render(openapi()), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/api.md")))
