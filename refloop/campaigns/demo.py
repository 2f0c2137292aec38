"""The demo's campaigns (demo.marketing calls it once referrals and facts are in)."""

from __future__ import annotations

import datetime as dt
import random


def campaigns_demo_load(*, users: dict, now: dt.datetime, rng: random.Random) -> None:
    """Filled in by the campaigns stream."""
