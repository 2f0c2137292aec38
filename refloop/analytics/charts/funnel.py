"""The funnel: one horizontal bar per step, its count printed at the end of the bar and the
conversion from the step before (and overall) printed beside it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from refloop.analytics.charts.layout import (
    BLUE,
    GRID,
    INK,
    MUTED,
    SIZE,
    SMALL,
    Link,
    count_text,
    href,
    percent_text,
)
from refloop.analytics.charts.scene import Rect, Scene, Text, text_width
from refloop.analytics.cohorts import Drill


@dataclass(frozen=True)
class FunnelBar:
    label: str
    count: int
    drill: Drill | None = None
    conversion: float | None = None  # share of the step before; computed from counts if None


def _bars(funnel) -> list[FunnelBar]:
    """A funnel result (metrics.funnel.Funnel: `.steps`) or a sequence of steps; a step needs
    `label` and `count`, and may carry `drill` and its conversion (`conversion` or
    `from_previous`: the share of the step before)."""
    steps: Sequence = getattr(funnel, "steps", funnel)
    return [
        FunnelBar(
            label=step.label,
            count=step.count,
            drill=getattr(step, "drill", None),
            conversion=getattr(step, "conversion", getattr(step, "from_previous", None)),
        )
        for step in steps
    ]


def funnel_chart(
    funnel, *, link: Link | None = None, key: str = "funnel", width: float = 640
) -> Scene:
    bars = _bars(funnel)
    row, bar_h, top = 30.0, 20.0, 8.0
    label_w = max([text_width(b.label, SIZE) for b in bars] + [80]) + 16
    count_w = max([text_width(count_text(b.count), SIZE, bold=True) for b in bars] + [20]) + 10
    note_w = text_width("100% of previous", SMALL) + 12
    bar_room = width - label_w - count_w - note_w
    most = max([b.count for b in bars] + [1])
    footer = 22.0
    height = top + row * len(bars) + footer
    first, last = (bars[0], bars[-1]) if bars else (None, None)
    overall, overall_text = _overall(funnel, first, last)
    description = "; ".join(
        f"{b.label}: {count_text(b.count)}"
        + (f" ({percent_text(_conversion(bars, i))} of previous)" if i else "")
        for i, b in enumerate(bars)
    )
    if overall is not None:
        description += f". {overall_text}."
    scene = Scene(
        width=width,
        height=height,
        title="Referral funnel",
        description=description or "No referrals.",
        key=key,
    )
    for i, bar in enumerate(bars):
        y = top + row * i
        length = max(bar_room * bar.count / most, 1.5 if bar.count else 0)
        baseline = y + bar_h / 2 + SIZE * 0.35
        target = href(link, bar.drill)
        aria = f"{bar.label}: {count_text(bar.count)} referrals, list them"
        scene.add(
            Text(label_w - 10, baseline, bar.label, SIZE, INK, anchor="end"),
            Rect(label_w, y, bar_room, bar_h, "#f4f6f9"),
            Rect(label_w, y, length, bar_h, BLUE, href=target, label=aria if target else ""),
            Text(
                label_w + length + 6,
                baseline,
                count_text(bar.count),
                SIZE,
                INK,
                bold=True,
                href=target,
                label=aria if target else "",
            ),
        )
        if i:
            note = f"{percent_text(_conversion(bars, i))} of previous"
            scene.add(Text(width - 4, baseline, note, SMALL, MUTED, anchor="end"))
    if overall is not None:
        y = top + row * len(bars) + 12
        scene.add(
            Rect(label_w, y - 10, bar_room, 0.75, GRID),
            Text(
                width - 4,
                y + 4,
                overall_text,
                SMALL,
                INK,
                anchor="end",
                bold=True,
            ),
        )
    return scene


def _overall(funnel, first, last) -> tuple[float | None, str]:
    """The funnel metric's own overall conversion (seen over received) if it has one, else the
    last step over the first."""
    if hasattr(funnel, "overall"):
        value = funnel.overall
        return value, f"Overall {percent_text(value)} of received were seen"
    value = (last.count / first.count) if first and first.count else None
    return value, f"Overall {percent_text(value)} of {first.label.lower() if first else ''}"


def _conversion(bars: list[FunnelBar], i: int) -> float | None:
    if bars[i].conversion is not None:
        return bars[i].conversion
    before = bars[i - 1].count
    return bars[i].count / before if before else None
