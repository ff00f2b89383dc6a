"""The transcript: turns rendered from Markdown, highlighted code with a copy link per block,
and under each reply who answered, tokens, speed, cost, what the context left out and the
passages of the user's files it drew on (numbered as the model cited them; a click opens the
source at that place)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QTextBrowser, QWidget

from app.chat_markdown import COPY_SCHEME, CodeLook, MarkdownRenderer
from app.ui.citations import place_of
from app.ui.theme import SPACE, Colours, colours
from engine.schemas import ToolRun

TOOL_SCHEME = "tool"  # tool:<action>:<call id>, action: toggle, approve, deny, always
CITE_SCHEME = "cite"  # cite:<index into TranscriptView.citations>
EXAMPLE_SCHEME = "example"  # example:<index into TranscriptView.examples>


@dataclass
class Turn:
    role: str
    content: str
    id: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    images: list[str] = field(default_factory=list)  # file names shown with the turn
    tools: list[ToolRun] = field(default_factory=list)  # calls the engine ran for this reply


class TranscriptView(QTextBrowser):
    notice = Signal(str)
    tool_decided = Signal(str, str)  # call id, action (approve, deny, always)
    redraw_needed = Signal()
    citation_opened = Signal(dict)  # a reply's source passage: file, page, time, text
    example_chosen = Signal(str)  # an example on the empty chat was clicked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.renderer = MarkdownRenderer(self.tr("Copy"))
        self.code_blocks: list[str] = []
        self.citations: list[dict[str, Any]] = []  # as linked from the footers, in order
        self.expanded: set[str] = set()  # tool cards opened by the user (collapsed by default)
        self.setOpenLinks(False)
        self.anchorClicked.connect(self.link_clicked)
        self.document().setDocumentMargin(SPACE[3])
        self.examples = [
            self.tr("Explain what a GGUF file is, in three sentences."),
            self.tr("Write a Python function that reverses the words in a sentence."),
            self.tr("Give me a packing list for a weekend hike."),
        ]

    def show_turns(self, turns: list[Turn], streaming: Turn | None) -> None:
        """Draw every turn; `streaming` is the reply still arriving (no footer yet)."""
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 8
        self.code_blocks = []
        self.citations = []
        c = colours()
        self.renderer.look = CodeLook(c.raised, c.border, c.muted, c.code_style)
        if not turns:
            self.setHtml(self._welcome(c))
            return
        self.setHtml("".join(self._turn_html(t, t is streaming, c) for t in turns))
        if at_bottom or streaming is not None:
            bar.setValue(bar.maximum())

    def _welcome(self, c: Colours) -> str:
        """The empty chat: what Hearth is, examples to click, what can be dropped."""
        examples = "".join(
            f"<p style='margin:6px 0'><a href='{EXAMPLE_SCHEME}:{i}'>{html.escape(text)}</a></p>"
            for i, text in enumerate(self.examples)
        )
        title, try_these = self.tr("What can I help with?"), self.tr("Try:")
        return (
            f"<div style='margin-top:40px'><h2 align='center'>{title}"
            f"</h2><p align='center' style='color:{c.muted}'>"
            + self.tr("Everything runs on this computer, even with the network unplugged.")
            + f"</p></div><table align='center' cellpadding='14' style='margin-top:16px; "
            f"background-color:{c.raised}; border:1px solid {c.border}'><tr><td>"
            f"<p style='color:{c.muted}'>{try_these}</p>{examples}"
            f"<p style='color:{c.muted}; margin-top:14px'>"
            + self.tr(
                "Drop audio to transcribe it, an image to caption and read it, or "
                "documents on the Knowledge page to ask about them. The microphone "
                "button (Ctrl+Shift+D) takes dictation."
            )
            + "</p></td></tr></table>"
        )

    def _turn_html(self, turn: Turn, streaming: bool, c: Colours) -> str:
        you = turn.role == "user"
        who = (
            self.tr("You")
            if you
            else html.escape(str(turn.meta.get("model") or self.tr("Assistant")))
        )
        rendered = self.renderer.render(turn.content or ("…" if streaming else ""))
        # Copy links are numbered across the whole transcript.
        offset = len(self.code_blocks)
        body = rendered.html
        for i in reversed(range(len(rendered.code_blocks))):
            body = body.replace(f'href="{COPY_SCHEME}:{i}"', f'href="{COPY_SCHEME}:{i + offset}"')
        self.code_blocks.extend(rendered.code_blocks)
        images = "".join(
            f"<div style='color:{c.muted}'>[{html.escape(n)}]</div>" for n in turn.images
        )
        colour = c.you if you else c.assistant
        footer = "" if you or streaming else self._sources(turn.meta) + self._footer(turn.meta)
        if streaming:  # a quiet sign that more is coming
            footer = f"<div style='color:{c.muted}; font-size:small'>● ● ●</div>"
        cards = "".join(self._tool_card(run, c) for run in turn.tools)
        # The user's turns sit on a raised block; replies on the page itself: who said what
        # reads at a glance.
        background = f" background-color:{c.raised};" if you else ""
        return (
            f"<table width='100%' cellspacing='0' cellpadding='10' style='margin-top:8px;"
            f"{background}'><tr><td><b style='color:{colour}'>{who}</b>"
            f"{images}{cards}{body}{footer}</td></tr></table>"
        )

    def _tool_card(self, run: ToolRun, c: Colours) -> str:
        """A call: tool, server and status on one line; arguments and result when opened;
        the approval links while it waits."""
        status = {
            "pending": self.tr("waiting for your approval"),
            "running": self.tr("running"),
            "done": self.tr("done"),
            "denied": self.tr("denied"),
            "failed": self.tr("failed"),
        }[run.status]
        call = html.escape(run.id)
        open_ = run.id in self.expanded
        links = [f"<a href='{TOOL_SCHEME}:toggle:{call}'>"
                 f"{self.tr('Hide') if open_ else self.tr('Details')}</a>"]  # fmt: skip
        if run.status == "pending":
            links += [
                f"<a href='{TOOL_SCHEME}:approve:{call}'>{self.tr('Approve')}</a>",
                f"<a href='{TOOL_SCHEME}:deny:{call}'>{self.tr('Deny')}</a>",
                f"<a href='{TOOL_SCHEME}:always:{call}'>{self.tr('Always allow')}</a>",
            ]
        details = ""
        if open_:
            details = f"<pre>{html.escape(run.arguments)}</pre>"
            if run.result is not None:
                details += f"<pre style='color:{c.muted}'>{html.escape(run.result)}</pre>"
        return (
            "<table border='1' cellspacing='0' cellpadding='6' width='100%' "
            f"style='border-color:{c.border}; margin:4px 0'><tr><td>"
            f"<b>{html.escape(run.name)}</b> <span style='color:{c.muted}'>"
            f"· {html.escape(run.server)} · {status}</span> &nbsp; {' · '.join(links)}"
            f"{details}</td></tr></table>"
        )

    def _sources(self, meta: dict[str, Any]) -> str:
        links = []
        for citation in meta.get("citations") or []:
            where = place_of(citation)
            label = f"[{citation['n']}] {citation['filename']}" + (f", {where}" if where else "")
            links.append(f"<a href='{CITE_SCHEME}:{len(self.citations)}'>{html.escape(label)}</a>")
            self.citations.append(citation)
        if not links:
            return ""
        title = html.escape(self.tr("Sources:"))
        return f"<div style='font-size:small'>{title} {' · '.join(links)}</div>"

    def _footer(self, meta: dict[str, Any]) -> str:
        facts: list[str] = []
        if meta.get("provider"):
            facts.append(html.escape(str(meta["provider"])))
        if meta.get("tokens"):
            facts.append(self.tr("%1 tokens").replace("%1", str(meta["tokens"])))
        if meta.get("speed"):
            facts.append(self.tr("%1 tokens/s").replace("%1", str(meta["speed"])))
        if meta.get("cost") is not None:
            facts.append(
                f"{meta['cost']:.4f} {html.escape(str(meta.get('currency') or ''))}".strip()
            )
        if meta.get("left_out"):
            facts.append(
                self.tr("%1 earlier messages left out").replace("%1", str(meta["left_out"]))
            )
        if meta.get("summarized"):
            facts.append(self.tr("%1 messages summarized").replace("%1", str(meta["summarized"])))
        if meta.get("redactions"):
            facts.append(self.tr("%1 items redacted").replace("%1", str(meta["redactions"])))
        if meta.get("stopped") or meta.get("interrupted"):
            facts.append(self.tr("stopped"))
        if meta.get("error"):
            facts.append(html.escape(str(meta["error"])))
        if not facts:
            return ""
        muted = colours().muted
        return f"<div style='color:{muted}; font-size:small'>{' · '.join(facts)}</div>"

    def link_clicked(self, url: QUrl) -> None:
        if url.scheme() == TOOL_SCHEME:
            action, _, call_id = url.path().partition(":")
            if action == "toggle":
                self.expanded.symmetric_difference_update({call_id})
                self.redraw_needed.emit()
            else:
                self.tool_decided.emit(call_id, action)
            return
        if url.scheme() == EXAMPLE_SCHEME:
            index = int(url.path() or "0")
            if 0 <= index < len(self.examples):
                self.example_chosen.emit(self.examples[index])
            return
        if url.scheme() == CITE_SCHEME:
            index = int(url.path() or "0")
            if 0 <= index < len(self.citations):
                self.citation_opened.emit(self.citations[index])
            return
        if url.scheme() == COPY_SCHEME:
            index = int(url.path() or "0")
            if 0 <= index < len(self.code_blocks):
                QGuiApplication.clipboard().setText(self.code_blocks[index])
                self.notice.emit(self.tr("Code copied"))


def stored_turns(messages: list[dict[str, Any]]) -> list[Turn]:
    """A stored conversation as the transcript shows it: the calls of a reply's steps and their
    results become cards on the reply that followed them."""
    turns: list[Turn] = []
    runs: dict[str, ToolRun] = {}
    for message in messages:
        if message["role"] == "assistant" and message.get("tool_calls"):
            for call in message["tool_calls"]:
                name = str((call.get("function") or {}).get("name", ""))
                server = name.split("__", 1)[0] if "__" in name else "builtin"
                runs[call["id"]] = ToolRun(
                    id=call["id"], name=name, server=server, status="done",
                    arguments=str((call.get("function") or {}).get("arguments", "")),
                )  # fmt: skip
        elif message["role"] == "tool" and message.get("tool_call_id") in runs:
            runs[message["tool_call_id"]].result = message["content"]
        elif message["role"] in ("user", "assistant"):
            turn = Turn(message["role"], message["content"], message["id"], meta_of(message))
            if message["role"] == "assistant":
                turn.tools, runs = list(runs.values()), {}
            turns.append(turn)
    return turns


def meta_of(message: dict[str, Any]) -> dict[str, Any]:
    """What a stored message says about how it was answered, for its footer."""
    timings = message.get("timings") or {}
    return {
        "model": message.get("model"),
        "provider": message.get("provider"),
        "tokens": message.get("token_count"),
        "speed": timings.get("tokens_per_second"),
        "interrupted": message.get("interrupted"),
        "citations": message.get("citations") or [],
    }
