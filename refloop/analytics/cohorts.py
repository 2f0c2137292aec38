"""Named groups of referrals behind the numbers, so every number can drill down (Django-free).

A metric that shows a number also names the cohort behind it (`Drill`): the dashboard turns the
name and its argument into a link, and the drill-down page asks `cohort_select` for the fact rows
and lists their referrals (for roles that may see them). A cohort is registered once, beside the
metric that counts it, so the number and the list can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from refloop.analytics.scope import Scope

Selector = Callable[[pl.DataFrame, Scope, str], pl.DataFrame]
COHORTS: dict[str, Selector] = {}


@dataclass(frozen=True)
class Drill:
    cohort: str  # a name in COHORTS
    arg: str = ""  # what the cohort is about (a step, a reason, a referrer key)


def cohort(name: str):
    """Register a selector: (facts, scope, arg) -> the fact rows behind the number."""

    def register(selector: Selector) -> Selector:
        if name in COHORTS:
            raise ValueError(f"cohort {name!r} registered twice")
        COHORTS[name] = selector
        return selector

    return register


def cohort_select(facts: pl.DataFrame, scope: Scope, drill: Drill) -> pl.DataFrame:
    try:
        selector = COHORTS[drill.cohort]
    except KeyError:
        raise LookupError(f"no cohort {drill.cohort!r}") from None
    return selector(facts, scope, drill.arg)


@cohort("received")
def received(facts: pl.DataFrame, scope: Scope, arg: str) -> pl.DataFrame:
    return scope.cohort(facts)
