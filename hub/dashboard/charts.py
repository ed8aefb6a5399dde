"""A bar chart drawn as inline SVG on the server: no script, no asset from outside."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT, AXIS = 720, 180, 24


@dataclass(frozen=True)
class Series:
    name: str
    css_class: str
    values: Sequence[int]


def bars(ticks: Sequence[str], series: Sequence[Series]) -> str:
    """Grouped bars, one group per tick (hours), one bar per series, with a title per bar."""
    top = max([1, *(v for s in series for v in s.values)])
    group = (WIDTH - AXIS) / max(1, len(ticks))
    bar = group * 0.8 / max(1, len(series))
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + AXIS}" role="img">',
             f'<text class="axis" x="0" y="12">{top}</text>']  # fmt: skip
    for index, tick in enumerate(ticks):
        x0 = AXIS + index * group
        for position, line in enumerate(series):
            value = line.values[index]
            height = HEIGHT * value / top
            x, y = x0 + position * bar, HEIGHT - height
            parts.append(
                f'<rect class="{line.css_class}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                f'height="{height:.1f}"><title>{escape(tick)} {escape(line.name)}: {value}'
                "</title></rect>"
            )
        if index % 3 == 0:
            parts.append(f'<text class="axis" x="{x0:.1f}" y="{HEIGHT + 16}">{escape(tick)}</text>')
    parts.append("</svg>")
    return "".join(parts)
