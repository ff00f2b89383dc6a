"""Tools that need no server and work offline: the user's memories, the date and time, and a
calculator. To the model they are ordinary functions; they never ask for approval, since they
only read what the engine already holds."""

from __future__ import annotations

import ast
import datetime as dt
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.memory.memories import MemoryStore

SERVER = "builtin"


class ToolFailed(Exception):
    """A tool could not do what was asked; the message goes back to the model."""


@dataclass(frozen=True)
class Builtin:
    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[[dict[str, Any]], str]

    def definition(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


def builtin_tools(memories: MemoryStore, now: Callable[[], dt.datetime]) -> list[Builtin]:
    def search_memories(args: dict[str, Any]) -> str:
        found = memories.search(str(args.get("query", "")), limit=int(args.get("limit", 5)))
        return "\n".join(f"- {m.content}" for m in found) or "No memory matches."

    def current_time(_args: dict[str, Any]) -> str:
        moment = now().astimezone()
        return moment.strftime("%A %Y-%m-%d %H:%M:%S %Z (UTC%z)")

    def calculate(args: dict[str, Any]) -> str:
        return format_number(evaluate(str(args.get("expression", ""))))

    return [
        Builtin(
            "search_memories",
            "Search what the user asked Hearth to remember about them.",
            {
                "type": "object",
                "properties": {
                    "query": {
                        "type": "string",
                        "maxLength": 100,
                        "description": "words to look for",
                    },
                    "limit": {"type": "integer", "minimum": 1, "maximum": 20},
                },
                "required": ["query"],
            },
            search_memories,
        ),
        Builtin(
            "current_time",
            "The current local date, weekday, time and time zone.",
            {"type": "object", "properties": {}},
            current_time,
        ),
        Builtin(
            "calculate",
            "Evaluate an arithmetic expression: + - * / // % ** and parentheses, and sqrt, "
            "log, exp, sin, cos, tan, abs, round, pi, e.",
            {
                "type": "object",
                "properties": {"expression": {"type": "string", "maxLength": 200}},
                "required": ["expression"],
            },
            calculate,
        ),
    ]


# -- the calculator: a walk over Python's AST that allows numbers and arithmetic only ----------
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}  # fmt: skip
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt, "log": math.log, "exp": math.exp, "sin": math.sin, "cos": math.cos,
    "tan": math.tan, "abs": abs, "round": round,
}  # fmt: skip
_CONSTANTS = {"pi": math.pi, "e": math.e}
MAX_EXPONENT = 1000  # 10**1000 is fine; 9**9**9 would take the engine's memory


def evaluate(expression: str) -> float | int:
    try:
        tree = ast.parse(expression.strip(), mode="eval")
        value: float | int = _value(tree.body)
        return value
    except ToolFailed:
        raise
    except (SyntaxError, ValueError, TypeError, ZeroDivisionError, OverflowError) as exc:
        raise ToolFailed(f"cannot evaluate {expression!r}: {exc}") from exc


def _value(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ToolFailed("the exponent is too large")
        return _BINARY[type(node.op)](left, right)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](*[_value(arg) for arg in node.args])
    raise ToolFailed(f"not allowed in an expression: {ast.unparse(node)!r}")


def format_number(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)
