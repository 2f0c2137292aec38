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


def backlog_make(*, target_open: int, target_total: int) -> None:
    """Clone open referrals (with their clocks, blockers and authorizations) until `target_open`
    are open, then ended ones until there are `target_total` referrals in all."""
    states = [str(state) for state in OPEN_STATES]
    shift = OFFSET
    for condition, wanted in (
        ("state = ANY(%s)", lambda: target_open - _count(open_only=True)),
        ("NOT (state = ANY(%s))", lambda: target_total - _count(open_only=False)),
    ):
        while (left := wanted()) > 0:
            _clone(condition, states, shift, left)
            shift += OFFSET
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('referrals_referral', 'id'), "
            "(SELECT max(id) FROM referrals_referral))"
        )
        for model in (Referral, ReferralClock, ReferralBlocker, Authorization):
            cursor.execute(f"ANALYZE {model._meta.db_table}")


def _count(*, open_only: bool) -> int:
    rows = Referral.objects.filter(state__in=OPEN_STATES) if open_only else Referral.objects
    return rows.count()


def _clone(condition: str, states: list[str], shift: int, limit: int) -> None:
    """One copy of up to `limit` original referrals matching `condition`, ids moved by `shift`."""
    cols = ", ".join(_columns(Referral, skip={"id", "sender_reference"}))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO referrals_referral (id, sender_reference, {cols}) "
            f"SELECT id + %s, '', {cols} FROM referrals_referral "
            f"WHERE id < %s AND {condition} ORDER BY id LIMIT %s",
            [shift, OFFSET, states, limit],
        )
        for model in (ReferralClock, ReferralBlocker, Authorization):
            table = model._meta.db_table
            child = _columns(model, skip={"id", "referral_id"})
            cursor.execute(
                f"INSERT INTO {table} (referral_id, {', '.join(child)}) "
                f"SELECT referral_id + %s, {', '.join(child)} FROM {table} "
                f"WHERE referral_id IN (SELECT id - %s FROM referrals_referral "
                f"WHERE id >= %s AND id < %s)",
                [shift, shift, shift, shift + OFFSET],
            )


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


FIRST_NEW = {"message": 0}  # messages made before the bench (the demo's) are not judged


def duplicates() -> dict:
    """Alerts twice for one person and key, and messages made by the bench's passes that say the
    same thing to the same address about the same referral for the same purpose."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT key, recipient_id FROM alerts_alert "
            "GROUP BY key, recipient_id HAVING count(*) > 1) d"
        )
        alerts = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM (SELECT purpose, referral_id, to_address, body "
            "FROM messaging_outboundmessage WHERE id >= %s "
            "GROUP BY purpose, referral_id, to_address, body HAVING count(*) > 1) d",
            [FIRST_NEW["message"]],
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
    parser.add_argument("--total", type=int, default=0, help="then ended ones up to this")
    parser.add_argument("--busy", type=int, default=2000)
    args = parser.parse_args()
    if args.open or args.total:
        backlog_make(target_open=args.open, target_total=args.total)
    size = {
        "label": args.label,
        "referrals": Referral.objects.count(),
        "open": Referral.objects.filter(state__in=OPEN_STATES).count(),
    }
    print(json.dumps(size), flush=True)
    FIRST_NEW["message"] = (
        OutboundMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0
    ) + 1
    passes(1)  # settle what the load left due, so each scenario measures only its own work
    for runners in (1, 2):
        scenario(args.label, "busy", due_make(args.busy), runners)
        scenario(args.label, "idle", 0, runners)
        scenario(args.label, "catch-up", due_make(None), runners)


if __name__ == "__main__":
    main()
