"""The built-in tools without a model: the calculator computes and refuses what is not
arithmetic, the clock tells the time it is given, memories are searched in a real SQLite file."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from engine.memory.database import Database
from engine.memory.memories import MemoryStore
from engine.tools.builtin import ToolFailed, builtin_tools, evaluate, format_number


@pytest.mark.parametrize(
    ("expression", "value"),
    [("2 + 3 * 4", 14), ("(2 + 3) * 4", 20), ("7 // 2", 3), ("7 % 4", 3), ("-2 ** 2", -4),
     ("sqrt(16) + abs(-1)", 5.0), ("round(pi, 3)", 3.142), ("10 / 4", 2.5), ("2 ** 0.5", math.sqrt(2))],
)  # fmt: skip
def test_the_calculator_computes(expression: str, value: float) -> None:
    assert evaluate(expression) == pytest.approx(value)


@pytest.mark.parametrize(
    "expression",
    ["__import__('os').system('true')", "open('x')", "x + 1", "9 ** 9 ** 9", "1 / 0", "[1, 2]",
     "'a' * 3", "sqrt(x=4)", "(lambda: 1)()", ""],
)  # fmt: skip
def test_the_calculator_refuses_what_is_not_arithmetic(expression: str) -> None:
    with pytest.raises(ToolFailed):
        evaluate(expression)


def test_whole_results_read_as_integers() -> None:
    assert format_number(4.0) == "4"
    assert format_number(2.5) == "2.5"
    assert format_number(10**20) == str(10**20)


def test_clock_and_memories(tmp_path: Path) -> None:
    db = Database(tmp_path / "hearth.sqlite3")
    try:
        memories = MemoryStore(db)
        memories.add("The user's cat is called Miso.", "api")
        moment = dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.timezone.utc)
        tools = {t.name: t for t in builtin_tools(memories, lambda: moment)}
        assert tools["search_memories"].run({"query": "cat"}) == "- The user's cat is called Miso."
        assert tools["search_memories"].run({"query": "dog"}) == "No memory matches."
        told = tools["current_time"].run({})
        local = moment.astimezone()  # the machine's zone, as the tool says it
        assert local.strftime("%Y-%m-%d %H:%M") in told
        assert local.strftime("%A") in told
        assert tools["calculate"].run({"expression": "6 * 7"}) == "42"
    finally:
        db.close()
