"""Settings' MCP section: add a server by command or URL, see its status, errors and tools,
switch tools on and off and mark them always allowed, remove it. Every engine call runs in the
background (EngineCalls); the tree is redrawn from what the engine answers."""

from __future__ import annotations

import shlex

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from app.engine_calls import EngineCalls
from app.engine_client import EngineClient
from engine.schemas import McpServerInfo

ENABLED, ALWAYS = 1, 2  # the tree's checkable columns


class McpBox(QGroupBox):
    notice = Signal(str)

    def __init__(self, calls: EngineCalls) -> None:
        super().__init__(self.tr("Tools from MCP servers"))
        self.calls = calls
        self.servers: list[McpServerInfo] = []
        self._filling = False
        self.tree = QTreeWidget()
        self.tree.setObjectName("mcp_tree")
        self.tree.setHeaderLabels(
            [self.tr("Server or tool"), self.tr("On"), self.tr("Always allow")]
        )
        self.tree.setMinimumHeight(160)
        self.tree.itemChanged.connect(self._item_changed)
        self.name = QLineEdit()
        self.name.setPlaceholderText(self.tr("name, e.g. files"))
        self.target = QLineEdit()
        self.target.setPlaceholderText(
            self.tr("a command (npx -y some-server) or a URL (http://127.0.0.1:8000/mcp)")
        )
        add = QPushButton(self.tr("Add server"))
        add.clicked.connect(self.add_server)
        remove = QPushButton(self.tr("Remove"))
        remove.clicked.connect(self.remove_selected)
        refresh = QPushButton(self.tr("Start and refresh"))
        refresh.clicked.connect(lambda: self.refresh(start=True))
        form = QHBoxLayout()
        form.addWidget(self.name)
        form.addWidget(self.target, 1)
        form.addWidget(add)
        actions = QHBoxLayout()
        actions.addStretch(1)
        actions.addWidget(refresh)
        actions.addWidget(remove)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addLayout(form)
        layout.addLayout(actions)

    def refresh(self, start: bool = False) -> None:
        def fetch(client: EngineClient) -> list[McpServerInfo]:
            if start:  # listing tools starts every enabled server
                client.offered_tools()
            return client.mcp_servers()

        self.calls.run(fetch, self._show)

    def _show(self, servers: list[McpServerInfo]) -> None:
        self.servers = servers
        self._filling = True
        self.tree.clear()
        for server in servers:
            where = " ".join(server.command) if server.command else (server.url or "")
            status = {
                "not_started": self.tr("not started"),
                "running": self.tr("running"),
                "exited": self.tr("stopped"),
                "error": self.tr("error"),
            }[server.status]
            label = f"{server.name} · {status}" + (f" · {server.error}" if server.error else "")
            top = QTreeWidgetItem([label, "", ""])
            top.setToolTip(0, where)
            top.setData(0, Qt.ItemDataRole.UserRole, (server.name, None))
            top.setCheckState(ENABLED, _state(server.enabled))
            for tool in server.tools:
                child = QTreeWidgetItem([tool.tool, "", ""])
                child.setToolTip(0, tool.description or "")
                child.setData(0, Qt.ItemDataRole.UserRole, (server.name, tool.tool))
                child.setCheckState(ENABLED, _state(tool.enabled))
                child.setCheckState(ALWAYS, _state(tool.always_allow))
                top.addChild(child)
            self.tree.addTopLevelItem(top)
            top.setExpanded(True)
        self.tree.resizeColumnToContents(0)
        self._filling = False

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._filling or column not in (ENABLED, ALWAYS):
            return
        server, tool = item.data(0, Qt.ItemDataRole.UserRole)
        on = item.checkState(column) == Qt.CheckState.Checked
        if tool is None:
            if column != ENABLED:
                return
            changes: dict[str, object] = {"enabled": on}
        else:
            key = "enabled" if column == ENABLED else "always_allow"
            changes = {"tools": {tool: {key: on}}}
        self.calls.run(lambda c: c.update_mcp_server(server, **changes), lambda _s: self.refresh())

    def add_server(self) -> None:
        name, target = self.name.text().strip(), self.target.text().strip()
        if not name or not target:
            self.notice.emit(self.tr("Give the server a name and a command or a URL."))
            return
        fields: dict[str, object] = (
            {"url": target} if target.startswith(("http://", "https://"))
            else {"command": shlex.split(target)}
        )  # fmt: skip

        def added(_info: McpServerInfo) -> None:
            self.name.clear()
            self.target.clear()
            self.refresh()

        self.calls.run(lambda c: c.add_mcp_server(name=name, **fields), added)

    def remove_selected(self) -> None:
        item = self.tree.currentItem()
        if item is None:
            return
        server, _tool = item.data(0, Qt.ItemDataRole.UserRole)
        self.calls.run(lambda c: c.remove_mcp_server(server), lambda _r: self.refresh())


def _state(on: bool) -> Qt.CheckState:
    return Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
