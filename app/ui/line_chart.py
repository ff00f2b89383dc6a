"""A small line chart drawn with QPainter (a training job's loss as it runs), no chart library:
named series of (x, y) points on shared axes, each with its colour and a legend."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from app.ui.theme import colours

Series = list[tuple[float, float]]


class LineChart(QWidget):
    def __init__(self, title: str) -> None:
        super().__init__()
        self.title = title
        self.series: dict[str, tuple[str, Series]] = {}  # name -> (colour, points)
        self.setMinimumHeight(180)

    def sizeHint(self) -> QSize:
        return QSize(420, 220)

    def set_series(self, name: str, colour: str, points: Series) -> None:
        self.series[name] = (colour, points)
        self.update()

    def clear(self) -> None:
        self.series = {}
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self.rect().adjusted(8, 8, -8, -8)
        painter.setPen(QColor(colours().text))
        painter.drawText(rect, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft, self.title)
        area = QRectF(rect.left() + 44, rect.top() + 40, rect.width() - 52, rect.height() - 64)
        points = [p for _c, series in self.series.values() for p in series]
        if not points:
            painter.setPen(QColor(colours().muted))
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, self.tr("No data yet"))
            return
        x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
        y0, y1 = min(0.0, min(p[1] for p in points)), max(p[1] for p in points)
        x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)

        def at(x: float, y: float) -> QPointF:
            return QPointF(area.left() + area.width() * (x - x0) / (x1 - x0),
                           area.bottom() - area.height() * (y - y0) / (y1 - y0))  # fmt: skip

        painter.setPen(QColor(colours().border))
        painter.drawLine(area.bottomLeft(), area.bottomRight())
        painter.drawLine(area.bottomLeft(), area.topLeft())
        painter.setPen(QColor(colours().muted))
        for value, y in ((y1, area.top()), (y0, area.bottom())):
            painter.drawText(QRectF(rect.left(), y - 8, 40, 16),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             f"{value:.3g}")  # fmt: skip
        legend_x = rect.left() + 44
        for name, (colour, series) in self.series.items():
            pen = QPen(QColor(colour), 2)
            painter.setPen(pen)
            if len(series) == 1:
                painter.drawEllipse(at(*series[0]), 3, 3)
            elif series:
                path = QPainterPath(at(*series[0]))
                for x, y in series[1:]:
                    path.lineTo(at(x, y))
                painter.drawPath(path)
            painter.drawLine(
                QPointF(legend_x, rect.top() + 26), QPointF(legend_x + 16, rect.top() + 26)
            )
            painter.setPen(QColor(colours().text))
            painter.drawText(QPointF(legend_x + 20, rect.top() + 30), name)
            legend_x += 28 + painter.fontMetrics().horizontalAdvance(name)
