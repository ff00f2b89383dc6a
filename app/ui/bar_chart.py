"""A small bar chart drawn with QPainter: enough for usage figures, with no chart library."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget


class BarChart(QWidget):
    def __init__(self, title: str, unit: str = "", colour: str = "#2f6feb") -> None:
        super().__init__()
        self.title = title
        self.unit = unit
        self.colour = QColor(colour)
        self.points: list[tuple[str, float]] = []
        self.setMinimumHeight(180)

    def sizeHint(self) -> QSize:
        return QSize(360, 200)

    def set_points(self, points: list[tuple[str, float]]) -> None:
        self.points = points
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self.rect().adjusted(8, 8, -8, -8)
        painter.drawText(rect, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft, self.title)
        area = QRectF(rect.left(), rect.top() + 44, rect.width(), rect.height() - 68)
        if not self.points:
            painter.setPen(QColor("#6e7781"))
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, self.tr("No data yet"))
            return
        top = max(v for _, v in self.points) or 1.0
        width = area.width() / len(self.points)
        for i, (label, value) in enumerate(self.points):
            height = area.height() * value / top
            bar = QRectF(
                area.left() + i * width + width * 0.15, area.bottom() - height, width * 0.7, height
            )
            painter.fillRect(bar, self.colour)
            painter.setPen(QColor("#24292f"))
            text = f"{value:.4g}{self.unit}"
            painter.drawText(
                QRectF(bar.left() - 10, bar.top() - 16, bar.width() + 20, 14),
                Qt.AlignmentFlag.AlignCenter,
                text,
            )
            painter.drawText(
                QRectF(area.left() + i * width, area.bottom() + 4, width, 16),
                Qt.AlignmentFlag.AlignCenter,
                label[-10:],
            )
