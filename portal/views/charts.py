"""Server-rendered SVG charts (issue #18.4): the geometry, computed here; the markup is
templates/_charts.html. No JavaScript and no inline style (the CSP): colours come from
portal.css by class, and each chart's numbers are also a table (docs/decisions.md).

The drawing is a 400 x 200 viewBox that the CSS scales to the column's width, capped so
that its text stays legible on a phone (390 px) and on a desktop (1280 px).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

W, H = 400, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 22
PLOT_W, PLOT_H = W - LEFT - RIGHT, H - TOP - BOTTOM


def nice_ceiling(value) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 x 10^n at or above ``value`` (1 when nothing)."""
    value = Decimal(value)
    if value <= 0:
        return Decimal(1)
    step = Decimal(10) ** (len(str(int(value))) - 1)
    for m in (1, 2, Decimal("2.5"), 5, 10):
        if value <= m * step:
            return m * step
    return 10 * step


@dataclass
class Chart:
    """What _charts.html draws: a title, x labels, y ticks, and shapes by class."""

    title: str
    labels: list[str]
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (y, label)
    lines: list[tuple[str, str, str]] = field(default_factory=list)  # (class, points, name)
    rects: list[tuple[str, float, float, float, float]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (class, name)
    zero: float = TOP + PLOT_H
    width: int = W
    height: int = H

    def x_label(self, i: int) -> float:
        return round(LEFT + (i + 0.5) * PLOT_W / max(len(self.labels), 1), 1)

    @property
    def label_step(self) -> int:
        """Label every month up to 12 columns at this width (they fit)."""
        return 1 if len(self.labels) <= 12 else 2


def _y(value, top: Decimal, bottom: Decimal = Decimal(0)) -> float:
    span = (top - bottom) or Decimal(1)
    return round(float(TOP + PLOT_H * (top - Decimal(value)) / span), 1)


def _ticks(top: Decimal, bottom: Decimal, fmt) -> list[tuple[float, str]]:
    values = [bottom, (top + bottom) / 2, top] if bottom < 0 else [Decimal(0), top / 2, top]
    if bottom < 0:
        values = [bottom, Decimal(0), top]
    return [(_y(v, top, bottom), fmt(v)) for v in values]


def lines(title: str, labels, series, fmt=str) -> Chart:
    """One polyline per series: ``series`` is [(class, name, values)], values >= 0."""
    top = nice_ceiling(max((max(v, default=0) for _c, _n, v in series), default=0))
    chart = Chart(title, list(labels), _ticks(top, Decimal(0), fmt))
    for css, name, values in series:
        points = " ".join(f"{chart.x_label(i)},{_y(v, top)}" for i, v in enumerate(values))
        chart.lines.append((css, points, name))
        chart.legend.append((css, name))
    return chart


def stacked_bars(title: str, labels, series, fmt=str) -> Chart:
    """Bars stacked from zero, positive values up and negative ones down: ``series`` is
    [(class, name, values)] (e.g. MRR movements: new, expansion, ... churn)."""
    n = len(labels)
    ups = [sum((max(v[i], 0) for _c, _n, v in series), Decimal(0)) for i in range(n)]
    downs = [sum((min(v[i], 0) for _c, _n, v in series), Decimal(0)) for i in range(n)]
    top = nice_ceiling(max(ups, default=0)) if any(ups) else Decimal(0)
    bottom = -nice_ceiling(-min(downs, default=0)) if any(downs) else Decimal(0)
    if top == 0 and bottom == 0:
        top = Decimal(1)
    chart = Chart(title, list(labels), _ticks(top, bottom, fmt), zero=_y(0, top, bottom))
    slot = PLOT_W / max(n, 1)
    for i in range(n):
        up, down = Decimal(0), Decimal(0)
        for css, _name, values in series:
            v = Decimal(values[i])
            if v == 0:
                continue
            start = up if v > 0 else down
            end = start + v
            y1, y2 = _y(start, top, bottom), _y(end, top, bottom)
            chart.rects.append((css, round(LEFT + i * slot + slot * 0.15, 1), min(y1, y2),
                                round(slot * 0.7, 1), round(abs(y2 - y1), 1) or 0.5))
            if v > 0:
                up = end
            else:
                down = end
    chart.legend = [(css, name) for css, name, _v in series]
    return chart


def bars(title: str, labels, values, css: str, name: str, fmt=str) -> Chart:
    """One bar per label (e.g. what an account was invoiced each month)."""
    return stacked_bars(title, labels, [(css, name, list(values))], fmt)
