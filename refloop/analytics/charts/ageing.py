"""Ageing of open referrals: one stacked bar per age bucket, a colour per group (service line or
state), each segment's count printed inside it when it fits and the bucket's total on top."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from refloop.analytics.charts.layout import (
    GRID,
    INK,
    MUTED,
    PALETTE,
    SIZE,
    SMALL,
    Link,
    count_text,
    href,
    nice_max,
)
from refloop.analytics.charts.scene import Line, Rect, Scene, Text, text_width
from refloop.analytics.cohorts import Drill


@dataclass(frozen=True)
class Stack:
    label: str  # the group: a service line, a state
    counts: Sequence[int]  # one per bucket
    drills: Sequence[Drill | None] = ()


# Text on a dark fill is white, on a light one ink (yellow, orange, sky are light).
LIGHT_FILLS = {"#E69F00", "#56B4E9", "#F0E442", "#CC79A7", "#009E73"}


def ageing_chart(
    buckets: Sequence[str],
    stacks: Sequence[Stack],
    *,
    title: str = "Open referrals by age",
    totals: Sequence[Drill | None] = (),
    link: Link | None = None,
    key: str = "ageing",
    width: float = 640,
    height: float = 240,
) -> Scene:
    left, right, top, bottom = 40.0, 8.0, 40.0, 26.0
    plot_w, plot_h = width - left - right, height - top - bottom
    sums = [sum(s.counts[i] for s in stacks) for i in range(len(buckets))]
    peak = nice_max(max(sums + [1]) * 1.08)
    slot = plot_w / max(len(buckets), 1)
    bar_w = min(slot * 0.62, 90)
    described = "; ".join(
        f"{bucket}: {count_text(total)}"
        + (
            " (" + ", ".join(f"{s.label} {s.counts[i]}" for s in stacks if s.counts[i]) + ")"
            if total
            else ""
        )
        for i, (bucket, total) in enumerate(zip(buckets, sums, strict=True))
    )
    scene = Scene(width, height, title, described or "No open referrals.", key=key)
    legend_x = left
    for n, stack in enumerate(stacks):
        colour = PALETTE[n % len(PALETTE)]
        scene.add(Rect(legend_x, 8, 12, 12, colour), Text(legend_x + 16, 18, stack.label, SMALL))
        legend_x += 30 + text_width(stack.label, SMALL)
    base = top + plot_h
    scene.add(Line(left, base, left + plot_w, base, MUTED))
    for i, bucket in enumerate(buckets):
        x = left + slot * i + (slot - bar_w) / 2
        y = base
        for n, stack in enumerate(stacks):
            count = stack.counts[i]
            if not count:
                continue
            colour = PALETTE[n % len(PALETTE)]
            h = plot_h * count / peak
            y -= h
            drill = stack.drills[i] if i < len(stack.drills) else None
            url = href(link, drill)
            aria = f"{stack.label}, {bucket}: {count} open, list them" if url else ""
            scene.add(Rect(x, y, bar_w, h, colour, stroke="#ffffff", href=url, label=aria))
            if h >= SMALL + 3:
                ink = INK if colour in LIGHT_FILLS else "#ffffff"
                scene.add(
                    Text(x + bar_w / 2, y + h / 2 + 4, count_text(count), SMALL, ink, "middle",
                         href=url, label=aria)
                )  # fmt: skip
        url = href(link, totals[i] if i < len(totals) else None)
        scene.add(
            Text(x + bar_w / 2, y - 5, count_text(sums[i]), SIZE, INK, "middle", bold=True,
                 href=url, label=f"{bucket}: {sums[i]} open, list them" if url else "")
        )  # fmt: skip
        scene.add(Text(left + slot * (i + 0.5), height - 8, bucket, SMALL, MUTED, "middle"))
    scene.add(Line(left, top, left, base, GRID))
    return scene
