"""Tools in the desktop, against a real engine and a real MCP server (the `mcp` SDK's, over
stdio, named in engine.toml): a call shows as a card waiting for approval, Approve runs it, the
result shows in the card, a reopened conversation shows it again; Settings lists the server's
tools and switches "always allow" in the engine."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import QUrl

from engine.settings import resolve_dirs
from tests.app.desktop_harness import Windows
from tests.conftest import engine_env

LAB = Path(__file__).resolve().parent.parent / "mcp_lab_server.py"


def test_a_tool_card_waits_for_approval_and_shows_the_result(
    qtbot: object, windows: Windows, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    config = resolve_dirs(home).config
    config.mkdir(parents=True, exist_ok=True)
    (config / "engine.toml").write_text(
        f'[[mcp_servers]]\nname = "lab"\ncommand = {json.dumps([sys.executable, str(LAB)])}\n',
        encoding="utf-8",
    )
    window = windows.open(engine_env(home))
    client = window.link.client
    assert client is not None
    # The conversation forces the call (a grammar), so the test does not wait on a choice.
    conv = client.create_conversation(params={
        "tool_choice": {"type": "function", "function": {"name": "lab__add"}},
        "max_tool_steps": 1, "temperature": 0, "max_tokens": 120,
    })  # fmt: skip
    chat = window.chat
    chat.refresh_conversations()
    chat.open_conversation(conv.id)
    qtbot.waitUntil(lambda: chat.conv_id == conv.id, timeout=10_000)  # type: ignore[attr-defined]
    chat.tools_box.setChecked(True)
    chat.input.setPlainText("Add two numbers.")
    chat.send_message()
    reply = chat.reply
    assert reply is not None
    qtbot.waitUntil(lambda: bool(reply.turn.tools), timeout=120_000)  # type: ignore[attr-defined]
    run = reply.turn.tools[0]
    assert run.status == "pending"
    chat.redraw()
    html = chat.chat_view.toHtml()
    assert "lab__add" in html
    assert f"tool:approve:{run.id}" in html
    chat.chat_view.link_clicked(QUrl(f"tool:approve:{run.id}"))  # as a click on "Approve"
    qtbot.waitUntil(lambda: chat.reply is None, timeout=120_000)  # type: ignore[attr-defined]
    done = reply.turn.tools[0]
    assert done.status == "done"
    args = json.loads(done.arguments)
    assert done.result == str(args["a"] + args["b"])
    chat.chat_view.link_clicked(QUrl(f"tool:toggle:{run.id}"))  # open the card
    assert done.result in chat.chat_view.toPlainText()

    chat.open_conversation(conv.id)  # stored: the card is rebuilt from the messages
    qtbot.waitUntil(  # type: ignore[attr-defined]
        lambda: any(t.tools and t.tools[0].result == done.result for t in chat.turns),
        timeout=10_000,
    )

    settings = window.settings
    window.show_page(window.settings)
    settings.mcp.refresh(start=True)
    tree = settings.mcp.tree
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == 1 and tree.topLevelItem(0).childCount() > 0,  # type: ignore[attr-defined]
                    timeout=30_000)  # fmt: skip
    top = tree.topLevelItem(0)
    assert top.text(0).startswith("lab")
    add = next(top.child(i) for i in range(top.childCount()) if top.child(i).text(0) == "add")
    add.setCheckState(2, add.checkState(2).Checked)  # "Always allow"

    def allowed() -> bool:
        info = client.mcp_servers()[0]
        return any(t.tool == "add" and t.always_allow for t in info.tools)

    qtbot.waitUntil(allowed, timeout=10_000)  # type: ignore[attr-defined]
