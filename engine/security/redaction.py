"""PII redaction before text leaves the device, and restoring it in the reply.

`Redactor.redact` replaces personal data with numbered placeholders ([EMAIL_1], [PHONE_1], ...);
the same value always gets the same placeholder within one request. `StreamRestorer` puts the
originals back into a streamed reply, holding back a placeholder split across chunks.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def cn_id_ok(value: str) -> bool:
    """Chinese resident ID (18 characters): the last one is a checksum of the first 17."""
    body, check = value[:17], value[17].upper()
    if not body.isdigit():
        return False
    return _ID_CHECK[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11] == check


def iban_ok(value: str) -> bool:
    compact = value.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


def _ip_ok(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


@dataclass(frozen=True)
class Detector:
    kind: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool] = lambda _v: True


DETECTORS: tuple[Detector, ...] = (
    Detector(
        "API_KEY",
        re.compile(
            r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}|\bgh[pousr]_[A-Za-z0-9]{30,}\b|\bAKIA[0-9A-Z]{16}\b"
            r"|\bxox[abpr]-[A-Za-z0-9-]{10,}|\bhearth-[A-Za-z0-9_-]{20,}"
            r"|\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{32,}\b"
        ),
    ),
    Detector(
        "EMAIL",
        re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
    ),
    Detector(
        "IBAN", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"), iban_ok
    ),
    Detector("CN_ID", re.compile(r"(?<!\d)\d{17}[\dXx](?![\dXx])"), cn_id_ok),
    Detector(
        "CARD",
        re.compile(r"(?<![\d+-])\d(?:[ -]?\d){12,18}(?![\d-])"),
        lambda v: luhn_ok(_digits(v)),
    ),
    Detector("PHONE", re.compile(r"(?<![\d+])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")),
    Detector(
        "PHONE",
        re.compile(
            r"(?<![\w+])\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}(?!\d)"
            r"|\(\d{3}\)[ ]?\d{3}-\d{4}\b|\b\d{3}-\d{3}-\d{4}\b"
        ),
    ),
    Detector(
        "IP",
        re.compile(
            r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?!\.?\d)"
            r"|(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{1,4}(?![\w:])"
        ),
        _ip_ok,
    ),
)


@dataclass(frozen=True)
class RedactedItem:
    kind: str
    placeholder: str


@dataclass
class Redaction:
    """What one request's redaction did; keeps the originals to restore the reply."""

    items: list[RedactedItem] = field(default_factory=list)
    originals: dict[str, str] = field(default_factory=dict)  # placeholder -> original
    _by_value: dict[tuple[str, str], str] = field(default_factory=dict)

    def placeholder_for(self, kind: str, value: str) -> str:
        key = (kind, value)
        if key not in self._by_value:
            n = 1 + sum(1 for item in self.items if item.kind == kind)
            placeholder = f"[{kind}_{n}]"
            self._by_value[key] = placeholder
            self.originals[placeholder] = value
            self.items.append(RedactedItem(kind, placeholder))
        return self._by_value[key]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.items:
            out[item.kind] = out.get(item.kind, 0) + 1
        return out

    def restore(self, text: str) -> str:
        if not self.originals:
            return text
        return _PLACEHOLDER.sub(lambda m: self.originals.get(m.group(0), m.group(0)), text)


_PLACEHOLDER = re.compile(r"\[[A-Z_]+_\d+\]")
_PARTIAL = re.compile(r"\[[A-Z_]*\d*$")


class Redactor:
    def __init__(self, words: Sequence[str] = (), patterns: Sequence[str] = ()) -> None:
        self._detectors = list(DETECTORS)
        self.configure(words, patterns)

    def configure(self, words: Sequence[str], patterns: Sequence[str]) -> None:
        """Replace the user's own words and patterns (settings can change them while running)."""
        extra = [re.escape(w) for w in words if w.strip()] + list(patterns)
        detectors = list(DETECTORS)
        if extra:
            detectors.insert(
                0,
                Detector("CUSTOM", re.compile("|".join(f"(?:{e})" for e in extra), re.IGNORECASE)),
            )
        self._detectors = detectors

    def redact(self, text: str, state: Redaction | None = None) -> tuple[str, Redaction]:
        state = state if state is not None else Redaction()
        for detector in self._detectors:

            def swap(match: re.Match[str], d: Detector = detector) -> str:
                value = match.group(0)
                if _PLACEHOLDER.fullmatch(value) or not d.valid(value):
                    return value
                return state.placeholder_for(d.kind, value)

            text = detector.pattern.sub(swap, text)
        return text, state


class StreamRestorer:
    """Restores placeholders in a reply that arrives in pieces."""

    def __init__(self, redaction: Redaction) -> None:
        self._redaction = redaction
        self._held = ""

    def feed(self, piece: str) -> str:
        text = self._held + piece
        partial = _PARTIAL.search(text)
        if partial and len(text) - partial.start() <= 32:
            self._held = text[partial.start() :]
            text = text[: partial.start()]
        else:
            self._held = ""
        return self._redaction.restore(text)

    def flush(self) -> str:
        text, self._held = self._held, ""
        return self._redaction.restore(text)
