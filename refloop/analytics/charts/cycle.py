"""Cycle times: the distribution of one step (a histogram with the median, the 90th percentile and
the target marked and printed) and a summary of every step (one bullet row each, on its own
scale, with its numbers printed beside it)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from refloop.analytics.charts.layout import (
    BLUE,
    GRID,
    INK,
    MUTED,
    ORANGE,
    SIZE,
    SKY,
    SMALL,
    VERMILLION,
    WASH,
    Link,
    count_text,
    href,
    nice_max,
    nice_step,
    number_text,
    percent_text,
)
from refloop.analytics.charts.scene import Line, Rect, Scene, Text, text_width
from refloop.analytics.cohorts import Drill


@dataclass(frozen=True)
class Distribution:
    """One step's durations (in `unit`), with the metric's own median, p90 and share within
    target: the chart prints the metric's numbers, it does not work out its own."""

    label: str
    values: Sequence[float]
    median: float | None
    p90: float | None
    unit: str = "h"
    target: float | None = None
    within_target: float | None = None
    drill: Drill | None = None


def _bins(values: Sequence[float], top: float) -> tuple[float, list[int], int]:
    """About a dozen bins of a round width up to `top`; what lies beyond is counted apart."""
    width = nice_step(top / 12)
    counts = [0] * max(1, math.ceil(top / width - 1e-9))
    beyond = 0
    for value in values:
        index = int(value // width)
        if index >= len(counts):
            beyond += 1
        else:
            counts[max(index, 0)] += 1
    return width, counts, beyond


def cycle_chart(
    step: Distribution, *, link: Link | None = None, key: str = "cycle", width: float = 640
) -> Scene:
    marks = [
        (name, value, colour, dash)
        for name, value, colour, dash in (
            ("median", step.median, INK, ()),
            ("p90", step.p90, ORANGE, (5, 3)),
            ("target", step.target, VERMILLION, (2, 2)),
        )
        if value is not None
    ]
    reach = max([v for _, v, _, _ in marks if v > 0] or [1.0])  # an empty step: an axis to 1
    top = nice_max(reach * 1.2)
    bin_w, counts, beyond = _bins(step.values, top)
    left, right, head, plot_h, foot = 36.0, 64.0, 14.0 * len(marks) + 8, 120.0, 44.0
    height = head + plot_h + foot
    plot_w = width - left - right
    scale_x = plot_w / (len(counts) * bin_w)
    tallest = max(counts + [beyond, 1])
    n = len(step.values)
    summary = (
        f"{count_text(n)} referrals; median {number_text(step.median)} {step.unit}, "
        f"90th percentile {number_text(step.p90)} {step.unit}"
    )
    if step.target is not None:
        summary += f", target {number_text(step.target)} {step.unit}"
    if step.within_target is not None:
        summary += f", {percent_text(step.within_target)} within target"
    scene = Scene(width, height, step.label, summary + ".", key=key)
    base = head + plot_h
    for i, count in enumerate(counts + [beyond]):
        overflow = i == len(counts)
        x = left + (i * bin_w * scale_x) + (8 if overflow else 0)
        w = bin_w * scale_x - 2
        h = plot_h * count / tallest
        if count:
            scene.add(Rect(x + 1, base - h, w, h, SKY if not overflow else GRID))
            scene.add(Text(x + 1 + w / 2, base - h - 3, count_text(count), SMALL, INK, "middle"))
    if beyond:
        x = left + len(counts) * bin_w * scale_x + 8 + bin_w * scale_x / 2
        scene.add(Text(x, base + 14, "more", SMALL, MUTED, "middle"))
    scene.add(Line(left, base, left + plot_w, base, MUTED))
    for tick in range(0, len(counts) + 1, max(1, len(counts) // 6)):
        x = left + tick * bin_w * scale_x
        scene.add(Line(x, base, x, base + 4, MUTED))
        scene.add(Text(x, base + 14, number_text(tick * bin_w), SMALL, MUTED, "middle"))
    scene.add(Text(left + plot_w / 2, base + 30, step.unit, SMALL, MUTED, "middle"))
    for row, (name, value, colour, dash) in enumerate(marks):
        x = left + min(value, top) * scale_x
        y = 12 + 14 * row
        scene.add(Line(x, y + 3, x, base, colour, 1.5, dash))
        scene.add(Text(x + 4, y, f"{name} {number_text(value)} {step.unit}", SMALL, colour))
    footer = f"{count_text(n)} referrals"
    if step.within_target is not None:
        footer += f" · {percent_text(step.within_target)} within target"
    target = href(link, step.drill)
    scene.add(
        Text(width - 4, height - 6, footer, SMALL, INK, "end", bold=True, href=target,
             label=f"{footer}: list them" if target else "")
    )  # fmt: skip
    return scene


@dataclass(frozen=True)
class CycleRow:
    label: str
    median: float | None
    p90: float | None
    unit: str = "h"
    target: float | None = None
    within_target: float | None = None
    count: int = 0
    drill: Drill | None = None  # the referrals behind the row (e.g. those that missed target)


def cycle_summary_chart(
    rows: Sequence[CycleRow], *, link: Link | None = None, key: str = "cycles", width: float = 640
) -> Scene:
    """One bullet row per step: a light band to the p90, a dark one to the median, a tick at the
    target. Each row has its own scale (steps are hours or days apart); the numbers are printed."""
    row_h, bar_h, top = 34.0, 12.0, 6.0
    label_w = max([text_width(r.label, SIZE) for r in rows] + [80]) + 16
    note_w = text_width("median 88.8 days · p90 888 days · 100% in target", SMALL) + 8
    track = width - label_w - note_w - 8
    height = top + row_h * len(rows) + 8
    description = "; ".join(
        f"{r.label}: median {number_text(r.median)} {r.unit}, p90 {number_text(r.p90)} {r.unit}"
        + (
            f", {percent_text(r.within_target)} within target"
            if r.within_target is not None
            else ""
        )
        for r in rows
    )
    scene = Scene(width, height, "Cycle times per step", description or "No steps.", key=key)
    for i, r in enumerate(rows):
        y = top + row_h * i
        mid = y + row_h / 2
        reach = max([v for v in (r.p90, r.median, r.target) if v is not None] + [1e-9])
        scale = track / nice_max(reach * 1.1)
        scene.add(Text(label_w - 10, mid + 4, r.label, SIZE, INK, "end"))
        scene.add(Rect(label_w, mid - bar_h / 2, track, bar_h, WASH))
        if r.p90 is not None:
            scene.add(Rect(label_w, mid - bar_h / 2, r.p90 * scale, bar_h, SKY))
        if r.median is not None:
            scene.add(Rect(label_w, mid - bar_h / 4, r.median * scale, bar_h / 2, BLUE))
        if r.target is not None:
            x = label_w + r.target * scale
            scene.add(Line(x, mid - bar_h, x, mid + bar_h, VERMILLION, 2))
        note = f"median {number_text(r.median)} {r.unit} · p90 {number_text(r.p90)} {r.unit}"
        if r.within_target is not None:
            note += f" · {percent_text(r.within_target)} in target"
        target = href(link, r.drill)
        scene.add(
            Text(width - 4, mid + 4, note, SMALL, INK, "end", href=target,
                 label=f"{r.label}: {note}, list them" if target else "")
        )  # fmt: skip
    return scene
