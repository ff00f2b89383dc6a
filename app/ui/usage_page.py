"""Usage: tokens per day, first-token latency and cost per provider, recent requests from the
audit log, and the long-term memories (edit, delete)."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.engine_calls import EngineCalls
from app.engine_client import EngineClient
from app.ui.usage_charts import UsageChart, by_day_and_provider
from engine.schemas import Memory


class UsagePage(QWidget):
    notice = Signal(str)

    def __init__(self, calls: EngineCalls) -> None:
        super().__init__()
        self.calls = calls
        self.tokens_chart = UsageChart(self.tr("Tokens per day, by provider"))
        self.latency_chart = UsageChart(self.tr("First token (ms), day by day"))
        self.cost_chart = UsageChart(self.tr("Cost by provider (30 days)"))
        charts = QHBoxLayout()
        for chart in (self.tokens_chart, self.latency_chart, self.cost_chart):
            charts.addWidget(chart)
        self.requests = QTableWidget(0, 6)
        self.requests.setObjectName("recent_requests")
        self.requests.setAccessibleName(self.tr("Recent requests"))
        self.requests.setHorizontalHeaderLabels(
            [
                self.tr("When"),
                self.tr("Endpoint"),
                self.tr("Status"),
                self.tr("Provider"),
                self.tr("Model"),
                self.tr("Time (ms)"),
            ]
        )
        self.requests.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.requests.verticalHeader().hide()
        usage_tab = QWidget()
        usage_layout = QVBoxLayout(usage_tab)
        refresh = QPushButton(self.tr("Refresh"))
        refresh.clicked.connect(self.refresh)
        usage_layout.addWidget(refresh, 0, Qt.AlignmentFlag.AlignLeft)
        usage_layout.addLayout(charts)
        usage_layout.addWidget(QLabel("<b>" + self.tr("Recent requests") + "</b>"))
        usage_layout.addWidget(self.requests, 1)

        self.memories = QListWidget()
        self.memories.setObjectName("memories")
        edit = QPushButton(self.tr("Edit…"))
        edit.clicked.connect(self._edit_selected)
        delete = QPushButton(self.tr("Delete"))
        delete.clicked.connect(self._delete_selected)
        memory_tab = QWidget()
        memory_layout = QVBoxLayout(memory_tab)
        memory_layout.addWidget(
            QLabel(
                self.tr(
                    'What Hearth remembers across conversations (say "remember that …" in a chat to add one).'
                )
            )
        )
        memory_layout.addWidget(self.memories, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(edit)
        buttons.addWidget(delete)
        buttons.addStretch(1)
        memory_layout.addLayout(buttons)

        tabs = QTabWidget()
        tabs.addTab(usage_tab, self.tr("Usage"))
        tabs.addTab(memory_tab, self.tr("Memories"))
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)

    def refresh(self) -> None:
        def fetch(client: EngineClient) -> dict[str, Any]:
            since = time.time() - 30 * 86400
            return {
                "days": client.usage("day,provider", since),
                "providers": client.usage("provider", since),
                "audit": client.audit(500),
                "memories": client.memories(),
            }

        self.calls.run(fetch, self._show)

    def _show(self, data: dict[str, Any]) -> None:
        self.draw_charts(data["days"], data["providers"])
        self.requests.setRowCount(0)
        # The work people asked for; the window's own status and progress polls are left out.
        for entry in [e for e in data["audit"] if e.get("method") != "GET"]:
            row = self.requests.rowCount()
            self.requests.insertRow(row)
            when = time.strftime("%m-%d %H:%M:%S", time.localtime(entry.get("at") or 0))
            cells = [
                when,
                entry.get("endpoint"),
                entry.get("status"),
                entry.get("provider"),
                entry.get("model"),
                entry.get("duration_ms"),
            ]
            for col, value in enumerate(cells):
                text = (
                    ""
                    if value is None
                    else (f"{value:.0f}" if isinstance(value, float) else str(value))
                )
                self.requests.setItem(row, col, QTableWidgetItem(text))
        self._show_memories(data["memories"])

    def draw_charts(self, days: list[dict[str, Any]], providers: list[dict[str, Any]]) -> None:
        def tokens(row: dict[str, object]) -> float:
            return float(int(row["prompt_tokens"] or 0) + int(row["completion_tokens"] or 0))  # type: ignore[call-overload]

        dates, table = by_day_and_provider(days, tokens)
        labels = [d[5:] for d in dates]  # MM-DD
        self.tokens_chart.bars(
            labels, {p: [v or 0.0 for v in values] for p, values in table.items()}, True,
            lambda p, day, v: self.tr("%1 on %2: %3 tokens")
            .replace("%1", p).replace("%2", day).replace("%3", f"{v:,.0f}"),
        )  # fmt: skip
        _dates, latency = by_day_and_provider(
            days,
            lambda r: float(r["first_token_ms"]) if r["first_token_ms"] else None,  # type: ignore[arg-type]
        )
        self.latency_chart.bars(
            labels, {p: [v or 0.0 for v in values] for p, values in latency.items()}, False,
            lambda p, day, v: self.tr("%1 on %2: first token after %3 ms")
            .replace("%1", p).replace("%2", day).replace("%3", f"{v:,.0f}"),
        )  # fmt: skip
        names = [str(p["grp"]) for p in providers]
        currency = next((str(p["currency"]) for p in providers if p.get("currency")), "")
        self.cost_chart.bars(
            names, {self.tr("cost"): [float(p["cost"] or 0) for p in providers]}, False,
            lambda _s, p, v: self.tr("%1: %2 %3").replace("%1", p)
            .replace("%2", f"{v:.4f}").replace("%3", currency).strip(),
        )  # fmt: skip

    def _show_memories(self, memories: list[Memory]) -> None:
        self.memories.clear()
        for memory in memories:
            item = QListWidgetItem(memory.content)
            item.setData(Qt.ItemDataRole.UserRole, memory.id)
            self.memories.addItem(item)

    def _edit_selected(self) -> None:
        item = self.memories.currentItem()
        if item is None:
            return
        text, ok = QInputDialog.getText(
            self, self.tr("Edit memory"), self.tr("Memory:"), text=item.text()
        )
        if ok and text.strip():
            self.edit_memory(int(item.data(Qt.ItemDataRole.UserRole)), text.strip())

    def edit_memory(self, memory_id: int, content: str) -> None:
        self.calls.run(lambda c: c.update_memory(memory_id, content), lambda _m: self.refresh())

    def _delete_selected(self) -> None:
        item = self.memories.currentItem()
        if item is not None:
            self.delete_memory(int(item.data(Qt.ItemDataRole.UserRole)))

    def delete_memory(self, memory_id: int) -> None:
        self.calls.run(lambda c: c.delete_memory(memory_id), lambda _m: self.refresh())
