"""Markdown to the HTML a QTextBrowser shows: highlighted code blocks, each with a copy link.

Qt-free, so it is tested without a display. Raw HTML in a message is shown as text, never run.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

COPY_SCHEME = "copy"  # a code block's copy link is copy:<index>


@dataclass(frozen=True)
class CodeLook:
    """The colours of a code block, from the window's theme."""

    background: str = "#eff2f5"
    border: str = "#d0d7de"
    label: str = "#59636e"
    style: str = "friendly"  # the Pygments style


@dataclass
class Rendered:
    html: str
    code_blocks: list[str] = field(default_factory=list)


def _highlight(code: str, lang: str, style: str) -> str:
    try:
        lexer = get_lexer_by_name(lang) if lang else None
    except ClassNotFound:
        lexer = None
    if lexer is None:  # guessing a language costs a fifth of a second: plain text instead
        return html.escape(code)
    return highlight(code, lexer, HtmlFormatter(noclasses=True, nowrap=True, style=style))


class MarkdownRenderer:
    def __init__(self, copy_label: str = "Copy") -> None:
        self.copy_label = copy_label
        self.look = CodeLook()
        self._md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
            ["table", "strikethrough"]
        )

        # markdown-it calls a rule with its renderer as the first argument.
        def fence(_renderer: Any, tokens: Any, idx: int, _options: Any, env: Any) -> str:
            return self._fence(tokens, idx, env)

        self._md.add_render_rule("fence", fence)
        self._md.add_render_rule("code_block", fence)

    def _fence(self, tokens: Any, idx: int, env: dict[str, Any]) -> str:
        token = tokens[idx]
        blocks: list[str] = env.setdefault("code_blocks", [])
        code = token.content
        lang = (token.info or "").strip().split(" ")[0]
        index = len(blocks)
        blocks.append(code)
        label = html.escape(lang or "code")
        body = _highlight(code, lang, self.look.style).rstrip("\n")
        look = self.look
        # A header row (language, copy link) over the code, on the theme's raised colour.
        return (
            f'<table width="100%" cellspacing="0" cellpadding="8" style="background-color:'
            f'{look.background}; border:1px solid {look.border}; margin:6px 0;">'
            f'<tr><td style="color:{look.label}; font-size:small; border-bottom:1px solid '
            f'{look.border};">{label} &nbsp; <a href="{COPY_SCHEME}:{index}">'
            f"{html.escape(self.copy_label)}</a></td></tr>"
            f'<tr><td><pre style="margin:0;">{body}</pre></td></tr></table>'
        )

    def render(self, text: str) -> Rendered:
        env: dict[str, Any] = {}
        body = self._md.render(text, env)
        return Rendered(html=body, code_blocks=list(env.get("code_blocks", [])))
