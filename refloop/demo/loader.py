"""Loads the demo program: directory first, then referrals streamed in chunks.

Calling the services per referral would take an hour for 25,000 referrals; instead each story is
told in memory (generator.py) and a chunk of 2,000 stories is written in one transaction. The
directory tables are small and go through bulk_create; the referral tables (about 29 rows per
referral) are sent on rows already in column order, because Django's insert compiler costs about
10 microseconds per value and the default load has some eight million values. PostgreSQL gets one
COPY per table and chunk (INSERT round trips made a million referrals take most of an hour);
SQLite, which has no round trips to save, gets `executemany` in batches of 2,000 rows. The rows
that others point at (patient, referral, document, appointment) get their ids up front, so nothing
has to be read back; PostgreSQL's sequences are moved past them at the end. Chunks keep memory
flat: a million referrals load into PostgreSQL as well.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from refloop.access.models import Appointment, Authorization
from refloop.analytics.jobs import facts_load
from refloop.core.bulk import RowWriter
from refloop.demo.channels import channels_receive
from refloop.demo.files import demo_files_write
from refloop.demo.generator import Ids, Story, World, story_tell
from refloop.demo.logins import demo_logins_ensure
from refloop.demo.marketing import marketing_demo_load
from refloop.demo.operations import calendars_fill, operations_create
from refloop.demo.population import Population, arrivals
from refloop.demo.program import program_create
from refloop.demo.showcase import showcase_run
from refloop.directory.models import Coverage, Patient
from refloop.loop.jobs import referrer_updates_start
from refloop.loop.models import ReportSent
from refloop.referrals.models import (
    ChecklistItem,
    Document,
    Referral,
    ReferralBlocker,
    ReferralClock,
    ReferralEvent,
)

DEFAULT_REFERRALS = 25_000
DEFAULT_SEED = 2024
CHUNK = 2000  # referrals per transaction
ID_TABLES = {"patient": Patient, "referral": Referral, "document": Document,
             "appointment": Appointment}  # fmt: skip


@dataclass
class LoadSummary:
    referrals: int
    events: int
    patients: int
    seconds: float
    channels: list[str]  # what arrived today by each way in


def demo_load(
    *,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
    now: dt.datetime | None = None,
    progress=None,
) -> LoadSummary:
    """Load the demo program into a database without referrals. Same seed and `now`, same data.

    Today's arrivals by every way in (demo/channels.py) go through the real entry points, which
    stamp the real clock: they come only when the load's present is the real one (`now` None)."""
    started = time.monotonic()
    arrivals_today = now is None
    now = now or timezone.now()
    rng = random.Random(seed)
    with transaction.atomic():
        users = demo_logins_ensure()
        program = program_create(rng=rng, scale=scale, now=now)
        operations_create(program.lines)
    world = World(
        program=program,
        now=now,
        users={role: user.pk for role, user in users.items()},
        files=demo_files_write(),
        ids=Ids(
            {
                name: (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
                for name, model in ID_TABLES.items()
            }
        ),
    )
    population = Population(world, rng)
    writer = Writer()
    total = round(DEFAULT_REFERRALS * scale)
    stories: list[Story] = []
    events = 0
    for received_at, referrer in arrivals(program, rng, total, now):
        story = population.story(received_at, referrer)
        story_tell(story)
        stories.append(story)
        if len(stories) >= CHUNK:
            events += writer.chunk_write(stories, population.take_new_patients())
            stories = []
            if progress:
                progress(population.referrals_made, total)
    if stories:
        events += writer.chunk_write(stories, population.take_new_patients())
    _sequences_reset()
    calendars_fill(program.lines, today=timezone.localdate(now))
    # The generated history happened before anyone was told: referrers hear from today on.
    referrer_updates_start(after_event_id=ReferralEvent.objects.aggregate(m=Max("id"))["m"] or 0)
    showcase_run(users=users, today=timezone.localdate(now), end=now)
    # Today's arrivals come before the facts, so that the dashboards count them from the start:
    # only the scheduler's fact job would add them otherwise, and just after midnight on the 1st
    # the spreadsheet's rows (received hours ago) belong to the month the dashboards open on.
    channels = channels_receive() if arrivals_today else []
    facts_load(now=timezone.now() if arrivals_today else now)
    marketing_demo_load(users=users, now=now, seed=seed)
    return LoadSummary(
        referrals=population.referrals_made,
        events=events,
        patients=population.patients_made,
        seconds=time.monotonic() - started,
        channels=channels,
    )


def _sequences_reset() -> None:
    """Move PostgreSQL's id sequences past the ids we handed out (SQLite needs nothing)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(ID_TABLES.values()))
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


class Writer(RowWriter):
    """The demo's chunks of stories, each in one transaction (core.bulk.RowWriter writes)."""

    def chunk_write(self, stories: list[Story], patients) -> int:
        """One chunk of stories in one transaction; returns the number of events."""
        events = [e for s in stories for e in s.events]
        clocks = [c for s in stories for c in s.book.clocks.values()]
        with transaction.atomic(), connection.cursor() as cursor:
            self.insert(cursor, Patient, [p.row for p in patients], with_id=True)
            self.insert(cursor, Coverage, [p.coverage for p in patients if p.coverage])
            self.insert(cursor, Referral, [s.referral for s in stories], with_id=True, objects=True)
            self.insert(cursor, Document, [d for s in stories for d in s.documents], with_id=True)
            self.insert(
                cursor, Appointment, [a for s in stories for a in s.appointments], with_id=True
            )
            self.insert(cursor, ReferralEvent, events)
            self.insert(cursor, ReferralBlocker, [b for s in stories for b in s.blockers])
            self.insert(cursor, ReferralClock, clocks, objects=True)
            self.insert(cursor, ChecklistItem, [c for s in stories for c in s.checklist])
            self.insert(cursor, ReportSent, [r for s in stories for r in s.reports])
            self.insert(cursor, Authorization, [a for s in stories for a in s.authorizations])
        return len(events)
