"""The scheduler at scale: one pass, and two schedulers at once, with time, memory and a check
that nothing was done twice. Against whatever database DATABASE_URL names (PostgreSQL).

    DATABASE_URL=... python bench/scheduler.py --label big --open 200000

With --open N, open referrals (with their clocks, blockers and authorizations) are first cloned
until N are open, so a demo load of any size can carry the backlog the issue asks for. Scenarios:
- busy minute: 2,000 referrals changed since the last pass (a very busy practice's half minute);
- catch-up: every open referral due at once (after a bulk load, or a scheduler down for long);
each alone and with two schedulers at once. Prints one JSON line per scenario.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refloop.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from refloop.access.models import Authorization  # noqa: E402
from refloop.alerts.models import Alert  # noqa: E402
from refloop.messaging.models import OutboundMessage  # noqa: E402
from refloop.referrals.enums import OPEN_STATES  # noqa: E402
from refloop.referrals.models import Referral, ReferralBlocker, ReferralClock  # noqa: E402

OFFSET = 10_000_000  # clone c of referral i gets id i + c * OFFSET


def _columns(model, *, skip=()):
    return [f.column for f in model._meta.concrete_fields if f.column not in skip]


def backlog_make(target_open: int) -> None:
    """Clone open referrals (and their clocks and blockers) until `target_open` are open."""
    open_now = Referral.objects.filter(state__in=OPEN_STATES).count()
    source_ids = list(
        Referral.objects.filter(state__in=OPEN_STATES, pk__lt=OFFSET).values_list("pk", flat=True)
    )
    if open_now >= target_open or not source_ids:
        return
    copies = -(-(target_open - open_now) // len(source_ids))
    referral_cols = _columns(Referral, skip={"id", "sender_reference"})
    children = [
        (model._meta.db_table, _columns(model, skip={"id", "referral_id"}))
        for model in (ReferralClock, ReferralBlocker, Authorization)
    ]
    states = tuple(str(s) for s in OPEN_STATES)
    with connection.cursor() as cursor:
        for c in range(1, copies + 1):
            left = target_open - Referral.objects.filter(state__in=OPEN_STATES).count()
            if left <= 0:
                break
            shift = c * OFFSET
            cols = ", ".join(referral_cols)
            cursor.execute(
                f"INSERT INTO referrals_referral (id, sender_reference, {cols}) "
                f"SELECT id + %s, '', {cols} FROM referrals_referral "
                f"WHERE id < %s AND state IN %s ORDER BY id LIMIT %s",
                [shift, OFFSET, states, left],
            )
            for table, cols in children:
                joined = ", ".join(cols)
                cursor.execute(
                    f"INSERT INTO {table} (referral_id, {joined}) "
                    f"SELECT t.referral_id + %s, {', '.join('t.' + x for x in cols)} "
                    f"FROM {table} t JOIN referrals_referral r ON r.id = t.referral_id + %s",
                    [shift, shift],
                )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('referrals_referral', 'id'), "
            "(SELECT max(id) FROM referrals_referral))"
        )
        cursor.execute("ANALYZE referrals_referral")
        cursor.execute("ANALYZE referrals_referralclock")


def passes(count: int) -> list[dict]:
    """Run `count` scheduler passes at once, each in its own process."""
    runners = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "scheduler_pass.py")],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    return [json.loads(r.communicate()[0].strip().splitlines()[-1]) for r in runners]


def due_make(count: int | None) -> int:
    """Make `count` open referrals (all, if None) due for a look, as a change would."""
    rows = Referral.objects.filter(state__in=OPEN_STATES).order_by("?" if count else "pk")
    ids = list(rows.values_list("pk", flat=True)[:count] if count else rows.values_list("pk"))
    ids = [i if isinstance(i, int) else i[0] for i in ids]
    for start in range(0, len(ids), 10_000):
        Referral.objects.filter(pk__in=ids[start : start + 10_000]).update(
            next_check_at=timezone.now(), check_lease_until=None
        )
    return len(ids)


def duplicates() -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT key, recipient_id FROM alerts_alert "
            "GROUP BY key, recipient_id HAVING count(*) > 1) d"
        )
        alerts = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM (SELECT purpose, referral_id, to_address, body "
            "FROM messaging_outboundmessage GROUP BY purpose, referral_id, to_address, body "
            "HAVING count(*) > 1) d"
        )
        messages = cursor.fetchone()[0]
    return {"duplicate_alerts": alerts, "duplicate_messages": messages}


def scenario(label, name, due, runners) -> None:
    start = time.perf_counter()
    results = passes(runners)
    wall = time.perf_counter() - start
    handled = sum(r.get("referrals_watch") or 0 for r in results)
    print(
        json.dumps(
            {
                "label": label,
                "scenario": name,
                "schedulers": runners,
                "due": due,
                "handled": handled,
                "wall_s": round(wall, 2),
                "pass_s": [r["seconds"] for r in results],
                "max_rss_mb": [r["max_rss_mb"] for r in results],
                **duplicates(),
                "alerts": Alert.objects.count(),
                "messages": OutboundMessage.objects.count(),
            }
        ),
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", required=True)
    parser.add_argument("--open", type=int, default=0, help="clone open referrals up to this")
    parser.add_argument("--busy", type=int, default=2000)
    args = parser.parse_args()
    if args.open:
        backlog_make(args.open)
    size = {
        "label": args.label,
        "referrals": Referral.objects.count(),
        "open": Referral.objects.filter(state__in=OPEN_STATES).count(),
    }
    print(json.dumps(size), flush=True)
    passes(1)  # settle what the load left due, so each scenario measures only its own work
    for runners in (1, 2):
        scenario(args.label, "busy", due_make(args.busy), runners)
        scenario(args.label, "idle", 0, runners)
        scenario(args.label, "catch-up", due_make(None), runners)


if __name__ == "__main__":
    main()
