"""The demo's gifts (called by demo.marketing after the referrals and their facts are loaded)."""

from __future__ import annotations

import datetime as dt
import random


def gifts_demo_load(*, users: dict, now: dt.datetime, rng: random.Random) -> None:
    """Filled in by the gifts stream."""
