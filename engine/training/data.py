"""Training data in OpenAI's chat JSONL: one example per line, `{"messages": [...]}` with
system, user and assistant turns; or a CSV of question and answer pairs (a `.csv` file, two
columns, an optional header row). Checked before anything runs, each problem with its line."""

from __future__ import annotations

import csv
import io
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
    examples: list[Example] = []
    problems: list[str] = []
    for number, line in enumerate(_text(data, param).splitlines(), start=1):
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
    return _checked(examples, problems, param, minimum)


def check_csv(
    data: bytes, param: str = "training_file", minimum: int = MIN_EXAMPLES
) -> list[Example]:
    """Question and answer pairs, one a row (a first row of "question,answer" is a header)."""
    examples: list[Example] = []
    problems: list[str] = []
    reader = csv.reader(io.StringIO(_text(data, param)))
    try:
        for row in reader:
            number = reader.line_num
            cells = [c.strip() for c in row]
            if not any(cells) or (number == 1 and [c.lower() for c in cells[:2]] ==
                                  ["question", "answer"]):  # fmt: skip
                continue
            if len(cells) != 2 or not all(cells):
                problems.append(f"line {number}: a row is a question and its answer")
                continue
            pair = [{"role": "user", "content": cells[0]},
                    {"role": "assistant", "content": cells[1]}]  # fmt: skip
            examples.append(Example(number, pair))
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: not CSV ({exc})")
    return _checked(examples, problems, param, minimum)


def _text(data: bytes, param: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TrainingFileError("the file is not UTF-8 text", param=param) from exc


def _checked(
    examples: list[Example], problems: list[str], param: str, minimum: int
) -> list[Example]:
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
