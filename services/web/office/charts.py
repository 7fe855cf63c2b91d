"""Horizontal bar charts drawn on the server as SVG: each bar's length and place are SVG
attributes (the pages' Content-Security-Policy allows no inline style). Pure geometry; the
template writes the words. The same numbers go in a table beside each chart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WIDTH = 400
LEGEND = 48  # the legend at the top: two keys a line
LABEL = 22  # a row's name, above its bars
BAR = 14
GAP = 4
ROW_GAP = 12
# Room right of the longest bar for its number.
NUMBER_ROOM = 48


@dataclass(frozen=True)
class Bar:
    measure: str
    value: int
    y: int
    width: int
    number_x: int
    number_y: int


@dataclass(frozen=True)
class Row:
    label: str
    label_y: int
    bars: list[Bar]


@dataclass(frozen=True)
class LegendKey:
    measure: str
    x: int
    y: int


@dataclass(frozen=True)
class BarChart:
    id: str
    width: int
    height: int
    rows: list[Row]
    legend: list[LegendKey]


def bar_chart(
    chart_id: str, rows: Sequence[tuple[str, Mapping[str, int]]], *, measures: Sequence[str]
) -> BarChart:
    """One group of bars per row (a teacher, a class), a bar per measure, all on one scale (the
    largest number fills the width)."""
    longest = max([int(row.get(measure, 0)) for _, row in rows for measure in measures] + [1])
    room = WIDTH - NUMBER_ROOM
    drawn, top = [], LEGEND
    for label, numbers in rows:
        bars = []
        for index, measure in enumerate(measures):
            value = max(int(numbers.get(measure, 0)), 0)
            y = top + LABEL + index * (BAR + GAP)
            width = round(room * value / longest)
            bars.append(Bar(measure, value, y, width, number_x=width + 6, number_y=y + BAR - 1))
        drawn.append(Row(label, label_y=top + LABEL - 6, bars=bars))
        top += LABEL + len(measures) * (BAR + GAP) + ROW_GAP
    step = WIDTH // 2
    return BarChart(
        id=chart_id,
        width=WIDTH,
        height=top,
        rows=drawn,
        legend=[
            LegendKey(measure, x=index % 2 * step, y=4 + index // 2 * 20)
            for index, measure in enumerate(measures)
        ],
    )
