"""What every chart shares: the colour-blind-safe palette, text sizes, number formats, axes."""

from __future__ import annotations

import math
from collections.abc import Callable

from refloop.analytics.cohorts import Drill

# Okabe and Ito's palette: told apart with every common colour-vision deficiency.
BLUE = "#0072B2"
ORANGE = "#E69F00"
SKY = "#56B4E9"
GREEN = "#009E73"
YELLOW = "#F0E442"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
PALETTE = (BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE, YELLOW)

INK = "#1d2430"
MUTED = "#5b6577"
GRID = "#d8dde6"
WASH = "#eef1f5"

SIZE = 12.0  # labels and numbers
SMALL = 10.5  # axes, notes

# A chart's links: the page turns a Drill into a URL (or None where the person may not drill).
Link = Callable[[Drill], str | None]


def no_link(drill: Drill) -> None:
    return None


def href(link: Link | None, drill: Drill | None) -> str | None:
    return link(drill) if (link and drill) else None


def count_text(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}"


def percent_text(share: float | None, digits: int = 0) -> str:
    """Whole percents, but a small share keeps a decimal (0.5%, not 0%)."""
    if share is None:
        return "–"
    if 0 < abs(share) < 0.095:
        digits = max(digits, 1)
    return f"{share * 100:.{digits}f}%"


def number_text(value: float | None, digits: int = 1) -> str:
    """Durations and rates: one decimal below 10, none above (4.2 h, 37 h)."""
    if value is None:
        return "–"
    return f"{value:,.{digits}f}" if abs(value) < 10 else f"{value:,.0f}"


def nice_max(value: float) -> float:
    """The axis' top: the next round number (1, 1.2, 1.6, 2, ... 8 times a power of ten) at or
    above `value`; each divides into four round ticks."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10):
        if value <= step * power + 1e-9:
            return step * power
    return 10 * power


def nice_step(value: float) -> float:
    """A bin width: the next 1, 2, 2.5 or 5 times a power of ten at or above `value`."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power + 1e-9:
            return step * power
    return 10 * power


def tick_text(value: float) -> str:
    return count_text(value) if float(value).is_integer() else number_text(value)


def axis(value: float, count: int = 4) -> list[float]:
    """Round ticks from 0 to at or above `value`, about `count` steps (0, 10, 20, 30 for 24)."""
    step = nice_step(value / count) if value > 0 else 1.0
    steps = max(1, math.ceil(value / step - 1e-9))
    return [step * i for i in range(steps + 1)]
