"""Monthly trends: a line per series (the first one's values printed at its points), an optional
comparison series dashed, an optional target line; and referrer small multiples, a grid of tiny
trend lines each labelled with its name and its latest count."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from refloop.analytics.charts.layout import (
    BLUE,
    GRID,
    INK,
    MUTED,
    SIZE,
    SKY,
    SMALL,
    VERMILLION,
    WASH,
    Link,
    axis,
    count_text,
    href,
    nice_max,
    percent_text,
    tick_text,
)
from refloop.analytics.charts.scene import Circle, Line, Polyline, Rect, Scene, Text, text_width
from refloop.analytics.cohorts import Drill


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | None]  # one per month; None where there is nothing to show
    drills: Sequence[Drill | None] = ()  # one per month, for the numbers printed
    comparison: bool = False  # drawn dashed (last year, the baseline, another group)


def month_text(month) -> str:
    return f"{month:%b %y}" if isinstance(month, dt.date) else str(month)


def trend_chart(
    months: Sequence,
    series: Sequence[Series],
    *,
    title: str,
    target: float | None = None,
    percent: bool = False,
    link: Link | None = None,
    key: str = "trend",
    width: float = 640,
    height: float = 230,
) -> Scene:
    fmt = percent_text if percent else count_text
    left, right, top, bottom = 44.0, 70.0, 34.0, 26.0
    plot_w, plot_h = width - left - right, height - top - bottom
    seen = [v for s in series for v in s.values if v is not None] + (
        [target] if target is not None else []
    )
    grid = axis(max(seen + [0]) * 1.1) if not percent else [0, 0.25, 0.5, 0.75, 1.0]
    peak = grid[-1]
    step = plot_w / max(len(months) - 1, 1)

    def point(i: int, value: float) -> tuple[float, float]:
        return left + step * i, top + plot_h * (1 - value / peak)

    described = "; ".join(
        f"{s.label}: "
        + ", ".join(f"{month_text(m)} {fmt(v)}" for m, v in zip(months, s.values, strict=False))
        for s in series
    )
    if target is not None:
        described += f"; target {fmt(target)}"
    scene = Scene(width, height, title, described or "No data.", key=key)
    for value in grid:
        y = point(0, value)[1]
        scene.add(Line(left, y, left + plot_w, y, GRID, 0.75))
        label = percent_text(value) if percent else tick_text(value)
        scene.add(Text(left - 6, y + 4, label, SMALL, MUTED, "end"))
    shown = _labelled_months(len(months))
    for i, month in enumerate(months):
        if i in shown:
            scene.add(Text(left + step * i, height - 8, month_text(month), SMALL, MUTED, "middle"))
    if target is not None:
        y = point(0, target)[1]
        scene.add(Line(left, y, left + plot_w, y, VERMILLION, 1.5, (6, 3)))
        scene.add(Text(left + plot_w + 8, y + 4, f"target {fmt(target)}", SMALL, VERMILLION))
    legend_x = left
    for n, s in enumerate(series):
        colour = MUTED if s.comparison else (BLUE if n == 0 else SKY)
        dash = (5, 3) if s.comparison else ()
        runs = _runs([(i, v) for i, v in enumerate(s.values)])
        for run in runs:
            pts = tuple(point(i, v) for i, v in run)
            if len(pts) > 1:
                scene.add(Polyline(pts, colour, 2.0, dash))
        scene.add(Line(legend_x, 12, legend_x + 18, 12, colour, 2.0, dash))
        scene.add(Text(legend_x + 22, 16, s.label, SMALL, INK))
        legend_x += 36 + text_width(s.label, SMALL)
        if n:
            continue
        for i, value in enumerate(s.values):
            if value is None:
                continue
            x, y = point(i, value)
            drill = s.drills[i] if i < len(s.drills) else None
            target_url = href(link, drill)
            scene.add(Circle(x, y, 3.0, colour))
            if i in shown:
                scene.add(
                    Text(x, y - 7, fmt(value), SMALL, INK, "middle", bold=True, href=target_url,
                         label=f"{month_text(months[i])}: {fmt(value)}, list them"
                         if target_url else "")
                )  # fmt: skip
    return scene


def _labelled_months(count: int) -> set[int]:
    """Every month up to 13; beyond that every other one, and always the last."""
    if count <= 13:
        return set(range(count))
    return set(range(count - 1, -1, -2))


def _runs(points: list[tuple[int, float | None]]) -> list[list[tuple[int, float]]]:
    """Consecutive months with a value (a gap breaks the line)."""
    runs, current = [], []
    for i, value in points:
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((i, value))
    if current:
        runs.append(current)
    return runs


@dataclass(frozen=True)
class Panel:
    label: str  # the referrer (a clinician or practice: not a patient)
    values: Sequence[int]  # referrals per month
    note: str = ""  # the segment ("declining"), printed under the name
    alert: bool = False  # volume fell significantly below its own baseline: drawn in vermillion
    drill: Drill | None = None


def multiples_chart(
    months: Sequence,
    panels: Sequence[Panel],
    *,
    title: str = "Referrals per month by referrer",
    columns: int = 4,
    link: Link | None = None,
    key: str = "multiples",
    width: float = 640,
) -> Scene:
    """Small multiples on one shared scale, so a big referrer looks big and a small one small."""
    gap, cell_h = 10.0, 78.0
    cell_w = (width - gap * (columns - 1)) / columns
    rows = max(1, -(-len(panels) // columns))
    height = rows * (cell_h + gap)
    peak = nice_max(max([v for p in panels for v in p.values] + [1]))
    described = "; ".join(
        f"{p.label}{' (' + p.note + ')' if p.note else ''}: "
        + ", ".join(f"{month_text(m)} {v}" for m, v in zip(months, p.values, strict=False))
        + (" — volume fell below its baseline" if p.alert else "")
        for p in panels
    )
    scene = Scene(width, height, title, described or "No referrers.", key=key)
    for n, panel in enumerate(panels):
        x0 = (cell_w + gap) * (n % columns)
        y0 = (cell_h + gap) * (n // columns)
        colour = VERMILLION if panel.alert else BLUE
        scene.add(Rect(x0, y0, cell_w, cell_h, WASH, stroke=VERMILLION if panel.alert else None))
        name = _clip(panel.label, cell_w - 40)
        scene.add(Text(x0 + 6, y0 + 14, name, SMALL, INK, bold=True))
        last = panel.values[-1] if panel.values else 0
        target_url = href(link, panel.drill)
        scene.add(
            Text(x0 + cell_w - 6, y0 + 14, count_text(last), SIZE, colour, "end", bold=True,
                 href=target_url, label=f"{panel.label}: {last} last month" if target_url else "")
        )  # fmt: skip
        if panel.note:
            scene.add(Text(x0 + 6, y0 + 27, panel.note, SMALL - 1, MUTED))
        plot_top, plot_h = y0 + 34, cell_h - 42
        step = (cell_w - 16) / max(len(panel.values) - 1, 1)
        pts = tuple(
            (x0 + 8 + step * i, plot_top + plot_h * (1 - v / peak))
            for i, v in enumerate(panel.values)
        )
        scene.add(Line(x0 + 8, plot_top + plot_h, x0 + cell_w - 8, plot_top + plot_h, GRID))
        if len(pts) > 1:
            scene.add(Polyline(pts, colour, 1.5))
        if pts:
            scene.add(Circle(*pts[-1], 2.5, colour))
    return scene


def _clip(text: str, room: float) -> str:
    if text_width(text, SMALL, bold=True) <= room:
        return text
    while text and text_width(text + "…", SMALL, bold=True) > room:
        text = text[:-1]
    return text + "…"
