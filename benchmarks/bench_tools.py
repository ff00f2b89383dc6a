"""Function calling: how often calls parse and validate, pick the right tool and the right
arguments, for both models the tests use, in each tool_choice mode; and the first-token
overhead that offering tools adds.

Cases are single calls, parallel calls and nested arguments over a small set of tools. A call
"validates" when its arguments parse as JSON and match the tool's JSON schema; "right" when the
tool is the expected one and the expected arguments are present (strings compared without case
or surrounding spaces). With `required` and a named tool the grammar makes every call validate,
so anything below 100% there is a bug; which tool and which values a small model picks is what
the other columns measure.

    .venv/bin/python benchmarks/bench_tools.py [--ttft-runs 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import openai

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from test_models import QWEN, default_folder, install

from benchmarks.engine_run import start_engine
from benchmarks.report import emit

SMOL = "smollm2-135m-instruct"
QWEN_ID = Path(QWEN).stem.lower()


def _fn(name: str, about: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    parameters = {"type": "object", "properties": properties, "required": required}
    return {"type": "function", "function": {"name": name, "description": about,
                                             "parameters": parameters}}  # fmt: skip


S = {"type": "string"}
TOOLS = [
    _fn("get_weather", "Weather forecast for a city.",
        {"city": S, "days": {"type": "integer", "minimum": 1, "maximum": 7},
         "units": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, ["city"]),
    _fn("convert_currency", "Convert an amount of money.",
        {"amount": {"type": "number"}, "from": S, "to": S}, ["amount", "from", "to"]),
    _fn("send_email", "Send an email.", {"to": S, "subject": S, "body": S}, ["to", "subject"]),
    _fn("book_table", "Book a restaurant table.",
        {"restaurant": S, "guests": {"type": "integer", "minimum": 1, "maximum": 20},
         "when": {"type": "object", "properties": {"date": S, "time": S},
                  "required": ["date", "time"]}}, ["restaurant", "guests", "when"]),
    _fn("set_timer", "Start a countdown timer.",
        {"minutes": {"type": "integer", "minimum": 1, "maximum": 600}, "label": S}, ["minutes"]),
    _fn("search_files", "Search the user's files.",
        {"query": S, "kind": {"type": "string", "enum": ["any", "pdf", "image", "text"]}},
        ["query"]),
]  # fmt: skip
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}


@dataclass
class Case:
    ask: str
    calls: list[tuple[str, dict[str, Any]]]  # expected, in any order


CASES = [
    Case("What's the weather in Paris?", [("get_weather", {"city": "Paris"})]),
    Case("Forecast for Tokyo for the next 3 days, in celsius.",
         [("get_weather", {"city": "Tokyo", "days": 3, "units": "celsius"})]),
    Case("Is it going to rain in Berlin tomorrow?", [("get_weather", {"city": "Berlin"})]),
    Case("How much is 100 US dollars in euros?",
         [("convert_currency", {"amount": 100, "from": "USD", "to": "EUR"})]),
    Case("Convert 250 GBP to JPY.",
         [("convert_currency", {"amount": 250, "from": "GBP", "to": "JPY"})]),
    Case("Email bob@example.com with the subject 'Lunch' and say I'm running late.",
         [("send_email", {"to": "bob@example.com", "subject": "Lunch"})]),
    Case("Send an email to ana@example.org titled Report.",
         [("send_email", {"to": "ana@example.org", "subject": "Report"})]),
    Case("Book a table for 4 at Chez Marie on 2026-12-24 at 19:30.",
         [("book_table", {"restaurant": "Chez Marie", "guests": 4,
                          "when": {"date": "2026-12-24", "time": "19:30"}})]),
    Case("Reserve Luigi's for 2 people, 2027-01-05 at 20:00.",
         [("book_table", {"restaurant": "Luigi's", "guests": 2,
                          "when": {"date": "2027-01-05", "time": "20:00"}})]),
    Case("Set a timer for 10 minutes.", [("set_timer", {"minutes": 10})]),
    Case("Start a 25 minute timer called focus.",
         [("set_timer", {"minutes": 25, "label": "focus"})]),
    Case("Find my PDF about taxes.", [("search_files", {"query": "taxes", "kind": "pdf"})]),
    Case("Search my files for holiday photos.", [("search_files", {"query": "holiday"})]),
    Case("Look for the text file with meeting notes.", [("search_files", {"kind": "text"})]),
    Case("Weather in Lyon in fahrenheit please.",
         [("get_weather", {"city": "Lyon", "units": "fahrenheit"})]),
    Case("Timer: 45 minutes for the oven.", [("set_timer", {"minutes": 45})]),
    Case("What's the weather in Oslo and in Rome?",
         [("get_weather", {"city": "Oslo"}), ("get_weather", {"city": "Rome"})]),
    Case("Convert 10 EUR to USD and 20 EUR to GBP.",
         [("convert_currency", {"amount": 10, "from": "EUR", "to": "USD"}),
          ("convert_currency", {"amount": 20, "from": "EUR", "to": "GBP"})]),
    Case("Set a 5 minute timer and a 15 minute timer.",
         [("set_timer", {"minutes": 5}), ("set_timer", {"minutes": 15})]),
    Case("Weather in Madrid, and email tom@example.com subject 'Trip'.",
         [("get_weather", {"city": "Madrid"}),
          ("send_email", {"to": "tom@example.com", "subject": "Trip"})]),
    Case("Book Sushi Bar for 3 on 2026-12-31 at 21:00.",
         [("book_table", {"restaurant": "Sushi Bar", "guests": 3,
                          "when": {"date": "2026-12-31", "time": "21:00"}})]),
    Case("Find images of my cat.", [("search_files", {"query": "cat", "kind": "image"})]),
]  # fmt: skip


def _same(expected: Any, got: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(_same(v, got.get(k)) for k, v in expected.items())
    if isinstance(expected, str):
        return isinstance(got, str) and expected.strip().lower() == got.strip().lower()
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        return isinstance(got, int | float) and float(got) == float(expected)
    return bool(expected == got)


@dataclass
class Tally:
    replies: int = 0
    cut: int = 0  # replies max_tokens ended before a call closed
    with_calls: int = 0
    calls: int = 0
    valid: int = 0
    right_tool: int = 0
    right_args: int = 0
    seconds: list[float] = field(default_factory=list)

    def add(self, case: Case, calls: list[tuple[str, str]], single_expected: bool) -> None:
        self.replies += 1
        self.with_calls += bool(calls)
        wanted = list(case.calls) if not single_expected else case.calls[:1]
        for name, arguments in calls:
            self.calls += 1
            try:
                data = json.loads(arguments)
                jsonschema.validate(data, SCHEMAS[name])
                self.valid += 1
            except (ValueError, KeyError, jsonschema.ValidationError):
                continue
            match = next((w for w in wanted if w[0] == name), None)
            if match is not None:
                self.right_tool += 1
                if _same(match[1], data):
                    self.right_args += 1
                    wanted.remove(match)

    def line(self, label: str) -> str:
        def pct(n: int, d: int) -> str:
            return f"{100 * n / d:.0f}%" if d else "n/a"

        return (
            f"{label}: {self.replies} replies, {pct(self.with_calls, self.replies)} with calls "
            f"({self.cut} cut by max_tokens 300); "
            f"{self.calls} calls, {pct(self.valid, self.calls)} parse and validate, "
            f"{pct(self.right_tool, self.calls)} the right tool, "
            f"{pct(self.right_args, self.calls)} the right tool with the right arguments"
        )


def run_mode(sdk: openai.OpenAI, model: str, mode: str) -> Tally:
    tally = Tally()
    for case in CASES:
        parallel = len(case.calls) > 1
        if mode == "named" and parallel:
            continue
        named = {"type": "function", "function": {"name": case.calls[0][0]}}
        choice: Any = named if mode == "named" else mode
        started = time.perf_counter()
        reply = sdk.chat.completions.create(
            model=model, messages=[{"role": "user", "content": case.ask}], tools=TOOLS,  # type: ignore[arg-type]
            tool_choice=choice, temperature=0, max_tokens=300, parallel_tool_calls=True,
        )  # fmt: skip
        tally.seconds.append(time.perf_counter() - started)
        tally.cut += reply.choices[0].finish_reason == "length"
        calls = reply.choices[0].message.tool_calls or []
        made = [(c.function.name, c.function.arguments) for c in calls]  # type: ignore[union-attr]
        tally.add(case, made, single_expected=mode == "named")
    return tally


def first_token(sdk: openai.OpenAI, model: str, tools: bool) -> float:
    started = time.perf_counter()
    extra: dict[str, Any] = {"tools": TOOLS, "tool_choice": "auto"} if tools else {}
    stream = sdk.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Say hello to me in French."}],
        temperature=0, max_tokens=8, stream=True, **extra,
    )  # fmt: skip
    with stream:
        for chunk in stream:
            delta = chunk.choices[0].delta if chunk.choices else None
            if delta is not None and (delta.content or delta.tool_calls):
                elapsed = time.perf_counter() - started
                break
        else:
            elapsed = time.perf_counter() - started
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ttft-runs", type=int, default=7)
    parser.add_argument("--modes", default="required,named,auto", help="empty: first token only")
    parser.add_argument("--section", type=Path)
    args = parser.parse_args()
    install(default_folder())  # the Qwen test model, as `make test` installs it
    engine, url, token = start_engine(models_dir=str(default_folder()), n_threads="2")
    lines: list[str] = [
        f"{len(CASES)} cases ({sum(len(c.calls) > 1 for c in CASES)} with two calls, "
        f"{sum('when' in str(c.calls) for c in CASES)} with nested arguments), {len(TOOLS)} tools, "
        "temperature 0; the engine's answers checked with jsonschema."
    ]
    try:
        sdk = openai.OpenAI(base_url=url + "/v1", api_key=token, max_retries=0, timeout=300)
        for model in (SMOL, QWEN_ID):
            sdk.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=1
            )  # fmt: skip  (load it first)
            for mode in [m for m in args.modes.split(",") if m]:
                tally = run_mode(sdk, model, mode)
                lines.append(tally.line(f"{model}, tool_choice {mode}"))
                print(lines[-1], flush=True)
            first_token(sdk, model, True)  # the tools' prompt read once, as a client's first call
            plain = [first_token(sdk, model, False) for _ in range(args.ttft_runs)]
            offered = [first_token(sdk, model, True) for _ in range(args.ttft_runs)]
            a, b = statistics.median(plain), statistics.median(offered)
            lines.append(
                f"{model}: first token {a * 1000:.0f} ms without tools, {b * 1000:.0f} ms with "
                f"the {len(TOOLS)} tools offered (auto): +{(b - a) * 1000:.0f} ms, "
                f"ratio {b / a:.2f} "
                f"(median of {args.ttft_runs}, after one request that read the tools' prompt: "
                "the first delta of a call comes once its name is written)"
            )
            print(lines[-1], flush=True)
    finally:
        engine.stop()
    emit("Function calling", lines, args.section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
