"""The demo's referral marketing, loaded after the referrals and their facts: approved content
first (campaigns and visits use it), then territories, standings and target lists, then the
liaisons' outreach, the gift ledger and a campaign."""

from __future__ import annotations

import datetime as dt
import random

from refloop.campaigns.demo import campaigns_demo_load
from refloop.content.demo import content_demo_load
from refloop.gifts.demo import gifts_demo_load
from refloop.outreach.demo import outreach_demo_load
from refloop.relations.demo import relations_demo_load


def marketing_demo_load(*, users: dict, now: dt.datetime, seed: int) -> None:
    rng = random.Random(seed)
    for load in (
        content_demo_load,
        relations_demo_load,
        outreach_demo_load,
        gifts_demo_load,
        campaigns_demo_load,
    ):
        load(users=users, now=now, rng=rng)
