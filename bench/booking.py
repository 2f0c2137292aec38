"""Booking under contention: 50 concurrent attempts on the same 10 slots, on PostgreSQL.

Each round makes a fresh service line with 10 slots and 50 accepted referrals (synthetic; they
stay in the database, so point it at a scratch or bench database), then releases 50 threads at a
barrier, each with its own connection, each booking one of the 10 slots for its own referral.
Exactly 10 must succeed; the others get "That slot was just taken". Prints one JSON line per
round (successes, conflicts, wall time, per-attempt median and p95) and exits non-zero if a
round did not have exactly 10 successes.

    DATABASE_URL=postgres://... python bench/booking.py --rounds 5
"""

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refloop.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from refloop.access.models import Slot, VisitType  # noqa: E402
from refloop.access.services import appointment_book  # noqa: E402
from refloop.core.errors import Conflict  # noqa: E402
from refloop.directory.models import Clinician, ServiceLine  # noqa: E402
from refloop.referrals.enums import Channel, State  # noqa: E402
from refloop.referrals.services import (  # noqa: E402
    PatientData,
    ReferralSubmission,
    ReferrerData,
    referral_receive,
    referral_transition,
)


def prepare(round_no: int, attempts: int, slots: int) -> tuple[list[int], list[int]]:
    """A fresh line with `slots` free slots and `attempts` accepted referrals (system actor)."""
    stamp = f"{int(time.time())}-{round_no}"
    line = ServiceLine.objects.create(code=f"bench-booking-{stamp}", name=f"Bench {stamp}")
    visit_type = VisitType.objects.create(
        service_line=line, code="new", name="New consult", for_new_referrals=True
    )
    clinician = Clinician.objects.create(first_name="Bench", last_name=f"Clinician {stamp}")
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=7)
    slot_ids = [
        Slot.objects.create(
            service_line=line,
            clinician=clinician,
            visit_type=visit_type,
            starts_at=start + dt.timedelta(minutes=30 * n),
            ends_at=start + dt.timedelta(minutes=30 * (n + 1)),
        ).pk
        for n in range(slots)
    ]
    referral_ids = []
    for n in range(attempts):
        referral = referral_receive(
            submission=ReferralSubmission(
                patient=PatientData(
                    first_name="Bench",
                    last_name=f"Patient{stamp}x{n}",
                    birth_date=dt.date(1970, 1, 1),
                ),
                referrer=ReferrerData(name="Dr Bench"),
                service_line_id=line.pk,
                reason="Benchmark",
                channel=Channel.FAX,
            ),
            actor=None,
        ).referral
        for state in (State.TRIAGE, State.ACCEPTED):
            referral_transition(referral_id=referral.pk, to_state=state, actor=None)
        referral_ids.append(referral.pk)
    return referral_ids, slot_ids


def race(referral_ids: list[int], slot_ids: list[int]) -> dict:
    attempts = len(referral_ids)
    barrier = threading.Barrier(attempts + 1)
    outcomes: list = [None] * attempts
    latencies: list = [0.0] * attempts

    def book(index: int) -> None:
        try:
            connection.ensure_connection()  # time the booking, not the connecting
            barrier.wait(timeout=60)
            began = time.perf_counter()
            try:
                appointment_book(
                    referral_id=referral_ids[index],
                    slot_id=slot_ids[index % len(slot_ids)],
                    actor=None,
                )
                outcomes[index] = "ok"
            except Conflict:
                outcomes[index] = "conflict"
            except Exception as error:  # reported, never hidden
                outcomes[index] = f"error: {type(error).__name__}"
            latencies[index] = (time.perf_counter() - began) * 1000
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=60)
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = (time.perf_counter() - began) * 1000
    latencies.sort()
    return {
        "attempts": attempts,
        "slots": len(slot_ids),
        "successes": outcomes.count("ok"),
        "conflicts": outcomes.count("conflict"),
        "errors": sorted({o for o in outcomes if o.startswith("error")}),
        "wall_ms": round(wall, 1),
        "attempt_median_ms": round(statistics.median(latencies), 1),
        "attempt_p95_ms": round(latencies[min(attempts - 1, int(attempts * 0.95))], 1),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--attempts", type=int, default=50)
    parser.add_argument("--slots", type=int, default=10)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("bench/booking.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    failed = False
    for round_no in range(1, args.rounds + 1):
        referral_ids, slot_ids = prepare(round_no, args.attempts, args.slots)
        result = race(referral_ids, slot_ids)
        print(json.dumps({"scenario": "booking contention", "round": round_no, **result}))
        failed |= result["successes"] != args.slots or bool(result["errors"])
    connection.close()
    if failed:
        raise SystemExit("a round did not book exactly one referral per slot")


if __name__ == "__main__":
    main()
