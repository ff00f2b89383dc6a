"""Function calls in the model's own format: which format a chat template uses, the grammar that
makes a call parse and match its tool's schema, and the parser that turns generated text into
OpenAI's `tool_calls` (whole, or as streamed deltas).

Formats (the shape each family was trained on):
- hermes: `<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>`, one block per call
  (Qwen2.5/Qwen3, Hermes, and Hearth's generic format for templates without tools);
- mistral: `[TOOL_CALLS] [{"name": ..., "arguments": {...}}, ...]`;
- llama3: `{"name": ..., "parameters": {...}}` (Llama 3.1-3.3, optionally after <|python_tag|>).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.backends.llama_backend import CallDelta as CallDelta  # re-exported for the API
from engine.tools.integer_ranges import integer_bounds, integer_range

MAX_PARALLEL = 8
FENCE = "```"
SPACE = 'space ::= | " " | "\\n" [ \\t]{0,20}'
SP = "(?: |\\n[ \\t]{0,20})?"  # the same, as an ECMAScript regex


@dataclass(frozen=True)
class ToolFormat:
    name: str
    trigger: str  # what starts a call in the generated text
    opening: str  # the grammar's literal before the first call
    between: str  # ... between calls
    closing: str  # ... after the last
    args_key: str = "arguments"
    # Also taken as calls, as llama.cpp's parsers do: a call in a ```json fence, or a bare call
    # object opening the reply (instruction-tuned Qwen2.5 models write both).
    lenient: bool = False

    def trigger_patterns(self) -> list[str]:
        """Regexes for llama.cpp's lazy grammar, which applies from the first group on. Each
        ends at `$`: the grammar then takes exactly the text the regex matched, which it
        accepts (llama.cpp aborts the process when a triggered grammar rejects text already
        written). A call whose tokens never line up with one is left unconstrained."""
        name = f'\\{{{SP}"name"(?:{SP}:{SP}"?)?'  # a call object's start, up to its name
        if self.name == "mistral":
            return ["(\\[TOOL_CALLS\\](?: \\[?)?)$"]
        if self.name == "llama3":
            return [f"({name})$"]
        return ["(<tool_call>\n?)$", f"({FENCE}(?:json)?{SP}{name})$", f"^\\s*({name})$"]

    def starts(self, at_reply_start: bool) -> tuple[str, ...]:
        """How a call may begin, whitespace aside."""
        if not self.lenient:
            return (self.trigger,)
        bare = ('{"name"',) if at_reply_start else ()
        return (self.trigger, FENCE + 'json{"name"', FENCE + '{"name"', *bare)


FORMATS = {
    "hermes": ToolFormat(
        "hermes",
        "<tool_call>",
        "<tool_call>\n",
        "\n</tool_call>\n<tool_call>\n",
        "\n</tool_call>",
        lenient=True,
    ),
    "mistral": ToolFormat("mistral", "[TOOL_CALLS]", "[TOOL_CALLS] [", ", ", "]"),
    "llama3": ToolFormat("llama3", '{"name"', "", "; ", "", args_key="parameters"),
}


def format_for(template: str | None) -> tuple[ToolFormat, bool]:
    """The format a chat template writes calls in, and whether it renders tools itself (if not,
    Hearth describes them in a system message, in the hermes format)."""
    text = template or ""
    if "[TOOL_CALLS]" in text:
        return FORMATS["mistral"], True
    if "<|python_tag|>" in text or "ipython" in text:
        return FORMATS["llama3"], True
    if "<tool_call>" in text:
        return FORMATS["hermes"], True
    return FORMATS["hermes"], "tools" in text and "tool_calls" in text


def generic_tools_prompt(tools: Sequence[dict[str, Any]]) -> str:
    """How a model whose template knows no tools is told about them (documented in the API
    reference): the functions' signatures, and the hermes call format."""
    lines = [
        "You can call functions to help answer. To call one, reply with exactly:",
        "<tool_call>",
        '{"name": "<function name>", "arguments": {<the arguments as JSON>}}',
        "</tool_call>",
        "The functions (JSON schemas of their arguments):",
    ]
    lines += [json.dumps(tool["function"], ensure_ascii=False) for tool in tools]
    return "\n".join(lines)


def _literal(text: str) -> str:
    return json.dumps(text)  # GBNF string literals escape like JSON's


def tools_grammar(
    tools: Sequence[dict[str, Any]], fmt: ToolFormat, only: str | None, parallel: bool
) -> str:
    """GBNF for one call (or several, when `parallel`) of `tools` in `fmt`: each call is a
    JSON object whose name is one of the tools' (or `only`) and whose arguments follow that
    tool's JSON schema."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    choices = [
        {
            "type": "object",
            "properties": {
                "name": {"const": t["function"]["name"]},
                fmt.args_key: t["function"].get("parameters") or {"type": "object"},
            },
            "required": ["name", fmt.args_key],
        }
        for t in tools
        if only is None or t["function"]["name"] == only
    ]
    schema = choices[0] if len(choices) == 1 else {"anyOf": choices}
    ranges: list[str] = []
    schema = _mark_integer_ranges(schema, ranges)
    rules = json_schema_to_gbnf(json.dumps(schema), prop_order=["name", fmt.args_key])
    for i, expression in enumerate(ranges):  # each marker's literal becomes its range
        rules = rules.replace(_literal(json.dumps(_RANGE_MARK.format(i))), expression)
    rules = re.sub(r"^root ::=", "call ::=", rules, flags=re.MULTILINE)
    # JSON as models write it, pretty-printed too (llama-cpp-python's rule allows one space).
    rules = re.sub(r"^space ::= .*$", lambda _m: SPACE, rules, flags=re.MULTILINE)
    # Parallel calls: at most MAX_PARALLEL in a reply (a small model may otherwise repeat one).
    repeat = f" ({_literal(fmt.between)} call){{0,{MAX_PARALLEL - 1}}}" if parallel else ""
    opening = f"{_literal(fmt.opening)} " if fmt.opening else ""
    closing = f" {_literal(fmt.closing)}" if fmt.closing else ""
    root = f"{opening}call{repeat}{closing}"
    if fmt.lenient:  # the forms the lazy triggers also accept, one call each
        root = f'{root} | "{FENCE}" "json"? space call space "{FENCE}" | call'
    return f"root ::= {root}\n{rules}"


_RANGE_MARK = "hearth-integer-range-{}"


def _mark_integer_ranges(schema: Any, ranges: list[str]) -> Any:
    """The schema with each bounded integer replaced by a marker constant, its range
    expression appended to `ranges` (the converter would accept any integer there)."""
    if isinstance(schema, list):
        return [_mark_integer_ranges(item, ranges) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") == "integer" and (bounds := integer_bounds(schema)) is not None:
        ranges.append(integer_range(*bounds) + " space")
        return {"const": _RANGE_MARK.format(len(ranges) - 1)}
    return {key: _mark_integer_ranges(value, ranges) for key, value in schema.items()}


# -- parsing ------------------------------------------------------------------------------------
@dataclass
class ParsedCall:
    id: str
    name: str
    arguments: str  # the arguments' JSON, as the model wrote it


@dataclass
class _Scan:
    """One JSON object being written: where its name and its arguments' value are."""

    text: str = ""
    depth: int = 0
    in_string: bool = False
    escaped: bool = False
    id: str | None = None
    args_start: int | None = None  # where the arguments' value begins
    args_end: int | None = None  # ... and ends, once it has
    args_sent: int = 0  # how much of it went out as deltas


NAME = re.compile(r'"name"\s*:\s*"((?:[^"\\]|\\.)*)"')


@dataclass
class ToolCallParser:
    """Turns generated text into content and calls, as it comes. Text before the format's
    trigger is content; from the trigger on, each JSON object is a call."""

    fmt: ToolFormat
    content_parts: list[str] = field(default_factory=list)
    calls: list[ParsedCall] = field(default_factory=list)
    _held: str = ""
    _in_calls: bool = False
    _scan: _Scan | None = None

    def feed(self, text: str) -> tuple[str, list[CallDelta]]:
        """The content to send now, and the calls' events."""
        if self._in_calls:
            return "", self._scan_calls(text)
        held = self._held + text
        at, is_call = self._call_start(held)
        content = held[:at]
        self.content_parts.append(content)
        if not is_call:
            self._held = held[at:]
            return content, []
        # Scanning takes each JSON object from here on as a call; tags and fences are skipped.
        self._held, self._in_calls = "", True
        return content, self._scan_calls(held[at:])

    def _call_start(self, held: str) -> tuple[int, bool]:
        """Where content ends in `held`, and whether a call begins there (if not, what follows
        may still turn out to be one, and is held back)."""
        blank = not self.content.strip()  # a bare call object may open the reply
        for at, ch in enumerate(held):
            starts = self.fmt.starts(blank)
            blank = blank and ch.isspace()
            if ch not in {start[0] for start in starts}:
                continue
            written = "".join(held[at : at + 80].split())
            if any(written.startswith(start) for start in starts):
                return at, True
            if len(held) - at < 80 and any(start.startswith(written) for start in starts):
                return at, False  # may be a call's beginning: wait for more
        return len(held), False

    def finish(self) -> str:
        """Content held back at the end (a partial trigger that never completed)."""
        content, self._held = self._held, ""
        if self._in_calls:
            return ""
        self.content_parts.append(content)
        return content

    @property
    def content(self) -> str:
        return "".join(self.content_parts)

    def _scan_calls(self, text: str) -> list[CallDelta]:
        events: list[CallDelta] = []
        for ch in text:
            scan = self._scan
            if scan is None:
                if ch != "{":
                    continue  # tags, separators and brackets between calls
                scan = self._scan = _Scan()
            scan.text += ch
            _step(scan, ch, self.fmt.args_key)
            events += self._progress(scan)
            if scan.depth == 0:
                self._close(scan)
                self._scan = None
        return events

    def _progress(self, scan: _Scan) -> list[CallDelta]:
        index = len(self.calls)
        events: list[CallDelta] = []
        if scan.id is None:
            name = NAME.search(scan.text)
            if name is None:
                return events
            scan.id = _call_id()
            events.append(CallDelta(index, id=scan.id, name=json.loads(f'"{name.group(1)}"')))
        if scan.args_start is None:
            return events
        if scan.args_end is not None:
            end = scan.args_end
        elif scan.depth >= 2:  # inside the arguments' object: all of it so far is theirs
            end = len(scan.text)
        else:
            return events
        piece = scan.text[scan.args_start + scan.args_sent : end]
        if piece:
            events.append(CallDelta(index, arguments=piece))
            scan.args_sent = end - scan.args_start
        return events

    def _close(self, scan: _Scan) -> None:
        try:
            data = json.loads(scan.text)
        except ValueError:
            return  # not a call after all
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return
        if scan.args_start is not None and scan.args_end is not None:
            arguments = scan.text[scan.args_start : scan.args_end]
        else:
            arguments = json.dumps(data.get(self.fmt.args_key, {}), ensure_ascii=False)
        self.calls.append(ParsedCall(scan.id or _call_id(), data["name"], arguments))


def _step(scan: _Scan, ch: str, args_key: str) -> None:
    """Track strings and nesting, and where the arguments' value starts and ends."""
    if scan.in_string:
        if scan.escaped:
            scan.escaped = False
        elif ch == "\\":
            scan.escaped = True
        elif ch == '"':
            scan.in_string = False
        return
    value_begins = scan.args_start is None and scan.depth == 1 and not ch.isspace()
    if value_begins and ch not in ",}" and re.search(rf'"{args_key}"\s*:\s*$', scan.text[:-1]):
        scan.args_start = len(scan.text) - 1  # the value's first character
    if ch == '"':
        scan.in_string = True
    elif ch in "{[":
        scan.depth += 1
    elif ch in "}]":
        scan.depth -= 1
        if scan.args_start is not None and scan.args_end is None and scan.depth == 1:
            scan.args_end = len(scan.text)
    elif ch == "," and scan.depth == 1 and scan.args_start is not None and scan.args_end is None:
        scan.args_end = len(scan.text) - 1  # a scalar value ended


def _call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def assemble(deltas: Sequence[CallDelta]) -> list[tuple[str, str, str]]:
    """Whole calls (id, name, arguments) from their deltas, in order."""
    calls: dict[int, list[str]] = {}
    for delta in deltas:
        call = calls.setdefault(delta.index, ["", "", ""])
        call[0] = delta.id or call[0]
        call[1] = delta.name or call[1]
        call[2] += delta.arguments
    return [(c[0] or _call_id(), c[1], c[2] or "{}") for _i, c in sorted(calls.items())]
