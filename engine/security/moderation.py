"""Content moderation with word lists and patterns, on input and output, local and remote.

Each list has an action: `block` (the request is refused with `content_filter`, or a streamed
reply ends with finish_reason `content_filter`), `mask` (matches become asterisks) or `flag`
(only recorded in the audit log).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from engine.errors import InvalidInput, SetupFailed

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

Action = Literal["block", "mask", "flag"]
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


class ModerationListFile(BaseModel):
    name: str
    action: Action = "flag"
    words: list[str] = []
    patterns: list[str] = []


class ContentFiltered(InvalidInput):
    code = "content_filter"


@dataclass
class WordList:
    name: str
    action: Action
    pattern: re.Pattern[str]
    longest: int


@dataclass
class Verdict:
    hits: dict[str, list[str]] = field(default_factory=dict)  # list name -> matches
    blocked_by: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return bool(self.hits)


def _word_regex(word: str) -> str:
    escaped = re.escape(word)
    # Latin words match whole words; CJK text has no spaces, so it matches as a substring.
    return escaped if _CJK.search(word) else rf"\b{escaped}\b"


def load_lists(paths: list[Path]) -> list[WordList]:
    lists = []
    for path in paths:
        try:
            data = ModerationListFile.model_validate(
                tomllib.loads(path.read_text(encoding="utf-8"))
            )
            parts = [_word_regex(w) for w in data.words if w.strip()] + data.patterns
            if not parts:
                continue
            pattern = re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)
        except (OSError, tomllib.TOMLDecodeError, ValidationError, re.error) as exc:
            raise SetupFailed(f"the moderation list {path.name} is invalid: {exc}") from exc
        longest = max([len(w) for w in data.words] + [40 if data.patterns else 0])
        lists.append(WordList(data.name, data.action, pattern, longest))
    return lists


def default_list_paths() -> list[Path]:
    folder = Path(__file__).resolve().parent.parent.parent / "resources" / "moderation"
    return sorted(folder.glob("*.toml"))


class Moderator:
    def __init__(self, lists: list[WordList]) -> None:
        self.lists = lists
        # Only lists that change the reply make a stream hold text back; flags are counted at
        # the end, so flag-only lists cost the stream nothing.
        self.lookbehind = max([w.longest for w in lists if w.action != "flag"] + [0])

    def check(self, text: str) -> Verdict:
        verdict = Verdict()
        for wl in self.lists:
            found = [m.group(0) for m in wl.pattern.finditer(text)]
            if found:
                verdict.hits[wl.name] = found
                if wl.action == "block":
                    verdict.blocked_by.append(wl.name)
        return verdict

    def mask(self, text: str) -> str:
        for wl in self.lists:
            if wl.action == "mask":
                text = wl.pattern.sub(lambda m: "*" * len(m.group(0)), text)
        return text

    def screen_input(self, text: str) -> tuple[str, Verdict]:
        """Raise ContentFiltered for blocked input; else the text with masks applied."""
        verdict = self.check(text)
        if verdict.blocked_by:
            raise ContentFiltered(
                f"The request was refused by the content filter ({', '.join(verdict.blocked_by)}).",
                param="messages",
            )
        return self.mask(text), verdict


class OutputFilter:
    """Screens a streamed reply: masks across chunk borders; reports a block as soon as seen.

    Text is released only once it is at least the longest listed word away from the end, so a
    word split across chunks is judged whole. Masks keep lengths, so offsets stay aligned.
    """

    def __init__(self, moderator: Moderator) -> None:
        self._moderator = moderator
        self._text = ""
        self._sent = 0
        self.verdict = Verdict()

    @property
    def holds_back(self) -> bool:
        """Whether any list can change or stop the reply (flag-only lists cannot)."""
        return self._moderator.lookbehind > 0

    def _window(self) -> tuple[int, str]:
        start = max(0, self._sent - self._moderator.lookbehind)
        return start, self._text[start:]

    def feed(self, piece: str) -> tuple[str, bool]:
        """(text safe to send now, blocked)."""
        self._text += piece
        start, window = self._window()
        verdict = self._moderator.check(window)
        if verdict.blocked_by:
            self.verdict.blocked_by += verdict.blocked_by
            self.verdict.hits.update(verdict.hits)
            return "", True
        release = max(self._sent, len(self._text) - self._moderator.lookbehind)
        masked = self._moderator.mask(window)
        out = masked[self._sent - start : release - start]
        self._sent = release
        return out, False

    def flush(self) -> str:
        start, window = self._window()
        self.verdict.hits = self._moderator.check(self._text).hits  # the whole reply, once
        out = self._moderator.mask(window)[self._sent - start :]
        self._sent = len(self._text)
        return out


def all_flags(
    input_flags: dict[str, list[str]], output: OutputFilter | None
) -> dict[str, list[str]]:
    """Moderation hits of a request on the way in and of its reply on the way out."""
    out = {name: list(found) for name, found in input_flags.items()}
    if output is not None:
        for name, found in output.verdict.hits.items():
            out.setdefault(name, []).extend(found)
    return out
