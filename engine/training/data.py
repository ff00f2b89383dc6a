"""Training data in OpenAI's chat JSONL: one example per line, `{"messages": [...]}` with
system, user and assistant turns. Checked before anything runs, each problem with its line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.errors import InvalidInput

ROLES = {"system", "user", "assistant"}
MIN_EXAMPLES = 10  # OpenAI's minimum too
MAX_PROBLEMS = 20  # listed in one error; the rest are counted


@dataclass
class Example:
    line: int
    messages: list[dict[str, str]]


@dataclass
class Checked:
    examples: list[Example]
    problems: list[str] = field(default_factory=list)


class TrainingFileError(InvalidInput):
    code = "invalid_training_file"


def _problem(line: int, data: Any) -> str | None:
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        return f"line {line}: an example is an object with a list of messages"
    messages = data["messages"]
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            return f"line {line}: message {i + 1} needs a role of system, user or assistant"
        if not isinstance(message.get("content"), str) or not message["content"].strip():
            return f"line {line}: message {i + 1} needs text content"
    if not any(m["role"] == "assistant" for m in messages):
        return f"line {line}: no assistant message to learn from"
    if not any(m["role"] == "user" for m in messages):
        return f"line {line}: no user message"
    return None


def check_jsonl(
    data: bytes, param: str = "training_file", minimum: int = MIN_EXAMPLES
) -> list[Example]:
    """The file's examples; TrainingFileError listing what is wrong, line by line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TrainingFileError("the file is not UTF-8 text", param=param) from exc
    examples: list[Example] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            parsed = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc.msg} at column {exc.colno})")
            continue
        problem = _problem(number, parsed)
        if problem:
            problems.append(problem)
        else:
            messages = [{"role": m["role"], "content": m["content"]} for m in parsed["messages"]]
            examples.append(Example(number, messages))
    if not examples and not problems:
        raise TrainingFileError("the file is empty", param=param)
    if problems:
        more = len(problems) - MAX_PROBLEMS
        listed = "; ".join(problems[:MAX_PROBLEMS]) + (f"; and {more} more" if more > 0 else "")
        raise TrainingFileError(f"the training data has problems: {listed}", param=param)
    if len(examples) < minimum:
        raise TrainingFileError(f"the file has {len(examples)} examples; at least {minimum} "
                                "are needed", param=param)  # fmt: skip
    return examples
