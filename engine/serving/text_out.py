"""From generated tokens' bytes to text pieces: whole UTF-8 characters only, and nothing that
could still turn out to be the start of a stop string."""

from __future__ import annotations


class TextOut:
    def __init__(self, stops: list[str]) -> None:
        self._stops = [s for s in stops if s]
        self._bytes = b""  # an incomplete UTF-8 character, waiting for the rest
        self._held = ""  # text that may be the beginning of a stop string

    def feed(self, data: bytes) -> tuple[str, bool]:
        """The text that is safe to send now, and whether a stop string was met (its text and
        anything after it are dropped)."""
        self._bytes += data
        try:
            text = self._bytes.decode("utf-8")
            self._bytes = b""
        except UnicodeDecodeError as exc:
            if exc.reason == "unexpected end of data":
                text = self._bytes[: exc.start].decode("utf-8", "replace")
                self._bytes = self._bytes[exc.start :]
            else:  # not UTF-8 at all: show what it is rather than wait forever
                text = self._bytes.decode("utf-8", "replace")
                self._bytes = b""
        held = self._held + text
        found = [i for i in (held.find(s) for s in self._stops) if i >= 0]
        if found:
            self._held = ""
            return held[: min(found)], True
        keep = self._partial_stop(held)
        self._held = held[len(held) - keep :] if keep else ""
        return held[: len(held) - keep], False

    def _partial_stop(self, text: str) -> int:
        """The length of the longest end of `text` that begins some stop string."""
        longest = 0
        for stop in self._stops:
            for n in range(min(len(stop) - 1, len(text)), longest, -1):
                if stop.startswith(text[-n:]):
                    longest = n
                    break
        return longest

    def flush(self) -> str:
        """What is left when the reply ends without a stop string."""
        text = self._held + self._bytes.decode("utf-8", "replace")
        self._held, self._bytes = "", b""
        return text
