"""Bar charts as plain geometry, for the HTML report to draw as inline SVG.

The report may load nothing from anywhere (no script, no font, no image), so a chart
is a handful of rectangles and texts placed here and drawn by the template, where
every label is escaped like any other text. A label is shortened for the drawing
only; the table beside each chart gives it in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ROW_HEIGHT = 22
BAR_HEIGHT = 14
LABEL_WIDTH = 190
BAR_SPACE = 300
VALUE_WIDTH = 70
MAX_LABEL = 28


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int
    length: float  # of the bar, in user units
    text_y: int


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: tuple[Bar, ...]
    width: int
    height: int
    bar_x: int
    bar_height: int

    @property
    def value_x(self) -> float:
        return self.bar_x + 6


def bar_chart(title: str, counts: Sequence[tuple[str, int]]) -> BarChart:
    """Horizontal bars, one per (label, count), scaled to the largest count."""
    largest = max((count for _, count in counts), default=0)
    bars = tuple(
        Bar(
            label=_short(label),
            value=count,
            y=row * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) // 2,
            length=round(BAR_SPACE * count / largest, 1) if largest else 0.0,
            text_y=row * ROW_HEIGHT + ROW_HEIGHT // 2 + 4,
        )
        for row, (label, count) in enumerate(counts)
    )
    return BarChart(
        title=title,
        bars=bars,
        width=LABEL_WIDTH + BAR_SPACE + VALUE_WIDTH,
        height=max(len(bars), 1) * ROW_HEIGHT,
        bar_x=LABEL_WIDTH,
        bar_height=BAR_HEIGHT,
    )


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"
