"""The Usage page's charts, with Qt Charts: tokens per day stacked by provider, first-token
latency day by day (a bar per provider), cost per provider. Hovering a bar shows its figure."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QCursor, QPainter
from PySide6.QtWidgets import QToolTip

from app.ui.theme import Colours, colours

Rows = list[dict[str, object]]


def series_colours(c: Colours) -> list[str]:
    return [c.accent, c.assistant, c.warning, c.danger, c.you, c.muted]


class UsageChart(QChartView):
    """One chart, drawn in the theme's colours; `tip` holds the last hover text (for tests too)."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title = title
        self.tip = ""
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(220)
        self.setAccessibleName(title)
        self._new_chart()

    def _new_chart(self) -> QChart:
        c = colours()
        chart = QChart()
        chart.setTitle(self.title)
        chart.setTitleBrush(QColor(c.text))
        chart.setBackgroundBrush(QColor(c.surface))
        chart.setBackgroundRoundness(8)
        chart.legend().setLabelColor(QColor(c.text))
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        self.setChart(chart)
        return chart

    def _axes(self, chart: QChart, categories: list[str], series: object, top: float) -> None:
        c = colours()
        x = QBarCategoryAxis()
        x.append(categories or [""])
        y = QValueAxis()
        y.setLabelFormat("%.0f" if top >= 10 else "%.2f")
        y.setRange(0, top * 1.1 if top > 0 else 1)
        for axis in (x, y):
            axis.setLabelsColor(QColor(c.muted))
            axis.setGridLineColor(QColor(c.border))
            axis.setLinePenColor(QColor(c.border))
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(x)  # type: ignore[attr-defined]
        series.attachAxis(y)  # type: ignore[attr-defined]
        y.applyNiceNumbers()

    def _show_tip(self, entering: bool, text: Callable[[], str]) -> None:
        if entering:
            self.tip = text()
            QToolTip.showText(QCursor.pos(), self.tip, self)

    def bars(
        self,
        categories: list[str],
        sets: dict[str, list[float]],
        stacked: bool,
        describe: Callable[[str, str, float], str],
    ) -> None:
        """Bars per category, one set per name (stacked, or side by side)."""
        chart = self._new_chart()
        series = QStackedBarSeries() if stacked else QBarSeries()
        palette = series_colours(colours())
        for i, (name, values) in enumerate(sets.items()):
            bar_set = QBarSet(name)
            bar_set.append(values)
            bar_set.setColor(QColor(palette[i % len(palette)]))
            bar_set.setBorderColor(QColor(palette[i % len(palette)]))
            bar_set.setLabelColor(QColor(colours().text))
            bar_set.hovered.connect(
                lambda on, index, n=name, v=values: self._show_tip(
                    on, lambda: describe(n, categories[index], v[index])
                )
            )
            series.append(bar_set)
        chart.addSeries(series)
        # The tallest bar (or stack) sets the scale.
        columns = list(zip(*sets.values(), strict=True))
        top = max((sum(c) if stacked else max(c) for c in columns), default=0.0)
        self._axes(chart, categories, series, top)


def by_day_and_provider(rows: Rows, figure: Callable[[dict[str, object]], float | None]) -> tuple[
    list[str], dict[str, list[float | None]]
]:  # fmt: skip
    """Rows of /v1/usage?group_by=day,provider as days and one list of figures per provider."""
    days = sorted({str(r["grp"]) for r in rows})
    providers = sorted({str(r.get("provider") or "local") for r in rows})
    table: dict[str, list[float | None]] = {p: [None] * len(days) for p in providers}
    for row in rows:
        table[str(row.get("provider") or "local")][days.index(str(row["grp"]))] = figure(row)
    return days, table
