"""Referrer standings at scale: segmenting and scoring 50,000 referrers over 24 months, and a
liaison's target list page over 50,000 standings.

1. A synthetic fact frame (Polars, made here, not read from a database) of 1,000,000 referrals
   from 50,000 referrers over 24 months: volumes from a heavy-tailed distribution, trajectories
   steady, growing, declining, dormant, new and occasional. Timed: analytics.metrics.referrers
   .referrers() (segments, trends, drop-off alerts), referrer_service() and the score, as
   relations.services.standings_write runs them. Goal: under 10 s.
2. With a database (DATABASE_URL; PostgreSQL for the quoted figures): the standings written
   (standings_write: bulk upsert), then the target list page /referrers/lists/<id>/ as a
   signed-in liaison through Django's test client, 200 requests, beside a baseline measured in
   the same run: a plain page of 50 standings by id, rendered by the same template machinery.
   Goal: p95 under 200 ms.

Prints one JSON object.

    python bench/referrers.py --referrers 50000 --referrals 1000000            # part 1 only
    DATABASE_URL=postgres://... python bench/referrers.py --pages 200          # both
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import polars as pl  # noqa: E402

from refloop.analytics.facts import FACT_SCHEMA  # noqa: E402
from refloop.analytics.metrics.referrer_service import (  # noqa: E402
    referrer_score,
    referrer_service,
)
from refloop.analytics.metrics.referrers import referrers, window  # noqa: E402
from refloop.analytics.scope import Scope  # noqa: E402

TZ = ZoneInfo("America/New_York")
MONTHS = 24
LINES = ("Cardiology", "Orthopedics", "Gastroenterology", "Dermatology", "Neurology")
KINDS = (  # trajectory, share of referrers
    ("steady", 0.55),
    ("growing", 0.1),
    ("declining", 0.1),
    ("dormant", 0.08),
    ("new", 0.07),
    ("drop", 0.05),
    ("occasional", 0.05),
)
HOUR = 3600


def _weights(kind: str, rng: random.Random) -> list[float]:
    """Relative rate per month (0..23) for a trajectory."""
    if kind == "growing":
        return [math.exp(0.04 * m) for m in range(MONTHS)]
    if kind == "declining":
        return [math.exp(-0.05 * m) for m in range(MONTHS)]
    if kind == "dormant":
        stop = rng.randint(14, 19)
        return [1.0 if m < stop else 0.0 for m in range(MONTHS)]
    if kind == "new":
        start = rng.randint(18, 22)
        return [1.0 if m >= start else 0.0 for m in range(MONTHS)]
    if kind == "drop":
        return [1.0 if m < MONTHS - 2 else 0.1 for m in range(MONTHS)]
    return [1.0] * MONTHS


def synthetic_facts(referrers_n: int, referrals_n: int, *, seed: int, as_of: dt.datetime):
    """The fact frame (FACT_SCHEMA's columns the standings read) and its scope."""
    rng = random.Random(seed)
    scope = Scope.month(as_of.astimezone(TZ).date().replace(day=1), tz=TZ, as_of=as_of)
    w = window(scope, MONTHS)
    starts = [scope.moment(m) for m in w.months] + [as_of]
    # Heavy-tailed volumes (lognormal) scaled so they sum to about referrals_n.
    kinds = rng.choices([k for k, _ in KINDS], [s for _, s in KINDS], k=referrers_n)
    raw = [rng.lognormvariate(0, 1.1) * (0.2 if kind == "occasional" else 1) for kind in kinds]
    scale = referrals_n / sum(raw)
    keys, received = [], []
    for n, (size, kind) in enumerate(zip(raw, kinds, strict=True)):
        weights = _weights(kind, rng)
        count = max(1, round(size * scale))
        months = rng.choices(range(MONTHS), weights, k=count)
        key = f"{1000000000 + n}"
        for m in months:
            start, end = starts[m], starts[m + 1]
            received.append(start + (end - start) * rng.random())
            keys.append(key)
    total = len(keys)
    line = [LINES[int(rng.random() ** 2 * len(LINES))] for _ in range(total)]
    frame = pl.DataFrame(
        {
            "referral_id": range(1, total + 1),
            "service_line": line,
            "priority": ["routine"] * total,
            "channel": ["fax"] * total,
            "referrer_key": keys,
            "referrer_name": [f"Dr Synthetic {k[-5:]}" for k in keys],
            "practice": [f"Practice {int(k) % 12000}" for k in keys],
            "received_at": received,
        },
        schema_overrides={"received_at": FACT_SCHEMA["received_at"]},
    )
    # Service: acknowledged within a few business hours, 85% seen 2-6 weeks later, reports.
    u = pl.int_range(0, total, eager=False).hash(seed) % 10_000 / 10_000
    received_at = pl.col("received_at")
    frame = frame.with_columns(
        acknowledged_net=(u * 16 * HOUR).cast(pl.Int64),
        seen_at=pl.when(u < 0.85).then(
            received_at + pl.duration(days=14 + (u * 30).cast(pl.Int64))
        ),
    ).with_columns(
        acknowledged_gross=pl.col("acknowledged_net"),
        acknowledged_at=received_at + pl.duration(seconds=pl.col("acknowledged_net")),
        acknowledge_met=pl.col("acknowledged_net") <= 8 * HOUR,
        report_delivered_at=pl.when(u < 0.7).then(
            pl.col("seen_at") + pl.duration(days=(u * 20).cast(pl.Int64))
        ),
        ended_at=pl.col("seen_at"),
    )
    frame = frame.filter(received_at < as_of)
    return frame, scope


def time_scoring(facts: pl.DataFrame, scope: Scope) -> dict:
    """referrers() + referrer_service() + the score, as standings_write runs them."""
    started, cpu = time.perf_counter(), time.process_time()
    report = referrers(facts, scope, months=MONTHS)
    segmented = time.perf_counter()
    service = referrer_service(facts, scope, months=MONTHS)
    served = time.perf_counter()
    w = window(scope, MONTHS)
    alerts = {a.key: a for a in report.alerts}
    scores = [referrer_score(r, alerts.get(r.key), exposures=w.exposures) for r in report.referrers]
    done = time.perf_counter()
    return {
        "referrals": facts.height,
        "referrers": len(report.referrers),
        "segments": {s.segment: s.count for s in report.segments},
        "alerts": len(report.alerts),
        "with_service": len(service),
        "scored_positive": sum(1 for s in scores if s > 0),
        "referrers_s": round(segmented - started, 2),
        "service_s": round(served - segmented, 2),
        "score_s": round(done - served, 2),
        "total_s": round(done - started, 2),
        "total_cpu_s": round(time.process_time() - cpu, 2),  # the machine may be shared
        "goal_s": 10,
    }, report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--referrers", type=int, default=50_000)
    parser.add_argument("--referrals", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261129)
    args = parser.parse_args()
    as_of = dt.datetime(2026, 11, 20, 17, tzinfo=dt.UTC)
    started = time.perf_counter()
    facts, scope = synthetic_facts(args.referrers, args.referrals, seed=args.seed, as_of=as_of)
    result = {"generate_s": round(time.perf_counter() - started, 1)}
    scoring, _ = time_scoring(facts, scope)
    result["scoring"] = scoring
    if os.environ.get("DATABASE_URL"):
        result["pages"] = pages_bench(facts, scope, as_of=as_of, requests=args.pages)
    print(json.dumps(result))


# Part 2: the database and the page ---------------------------------------------------------


def pages_bench(facts: pl.DataFrame, scope: Scope, *, as_of: dt.datetime, requests: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refloop.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from refloop.core.roles import Role, roles_sync
    from refloop.relations.models import ReferrerStanding, TargetList, Territory
    from refloop.relations.queries import Criteria
    from refloop.relations.services import standings_write

    call_command("migrate", verbosity=0)
    roles_sync()
    from django.contrib.auth.models import Group, User

    liaison, _ = User.objects.get_or_create(username="bench-liaison")
    liaison.groups.add(Group.objects.get(name=Role.LIAISON.label))
    started = time.perf_counter()
    written = standings_write(facts=facts, scope=scope, now=as_of)
    write_s = time.perf_counter() - started
    # A liaison's patch: a fifth of the referrers, by territory.
    territory, _ = Territory.objects.get_or_create(name="Bench north", liaison=liaison)
    ids = list(ReferrerStanding.objects.order_by("pk").values_list("pk", flat=True))
    ReferrerStanding.objects.filter(pk__in=ids[::5]).update(territory=territory, liaison=liaison)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
    fading = TargetList.objects.create(
        owner=liaison,
        name="Fading referrers (bench)",
        criteria=Criteria(segments=("declining", "dormant"), mine=True).to_json(),
    )
    everyone = TargetList.objects.create(
        owner=liaison, name="Everyone (bench)", criteria=Criteria().to_json()
    )
    client = Client()
    client.force_login(liaison)
    rng = random.Random(7)
    cases = {
        "baseline: 50 standings by id": lambda: (
            "/bench-baseline/",
            {"page": rng.randint(1, 900)},
        ),
        "target list: mine, fading, by score": lambda: (
            f"/referrers/lists/{fading.pk}/",
            {"page": rng.randint(1, 3)},
        ),
        "target list: everyone, by change": lambda: (
            f"/referrers/lists/{everyone.pk}/",
            {"sort": "change", "page": rng.randint(1, 900)},
        ),
    }
    _baseline_urls()
    out = {"standings": written, "write_s": round(write_s, 2), "vendor": connection.vendor}
    for name, make in cases.items():
        times, queries = [], 0
        client.get(*make())  # warm: templates compiled, connection open
        for _ in range(requests):
            path, data = make()
            with CaptureQueriesContext(connection) as captured:
                t0 = time.perf_counter()
                response = client.get(path, data)
                times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (path, response.status_code)
            queries = len(captured.captured_queries)
        times.sort()
        out[name] = {
            "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
            "queries": queries,
        }
    out["goal_p95_ms"] = 200
    return out


BASELINE = """{% extends "web/base.html" %}{% block content %}<table>
{% for r in rows %}<tr><td>{{ r.name }}</td><td>{{ r.practice }}</td><td>{{ r.segment }}</td>
<td>{{ r.total }}</td><td>{{ r.score }}</td></tr>{% endfor %}</table>{% endblock %}"""


def _baseline_urls() -> None:
    """/bench-baseline/: the plainest page of 50 standings (by id, a page of them), through
    the same stack and base template, beside the app's own URLs."""
    import types

    from django.conf import settings
    from django.contrib.auth.decorators import login_required
    from django.core.paginator import Paginator
    from django.http import HttpResponse
    from django.template import engines
    from django.urls import clear_url_caches, include, path

    from refloop.relations.models import ReferrerStanding

    template = engines["django"].from_string(BASELINE)

    @login_required
    def baseline(request):
        rows = ReferrerStanding.objects.order_by("pk").values(
            "name", "practice", "segment", "total", "score"
        )
        page = Paginator(rows, 50).get_page(request.GET.get("page"))
        return HttpResponse(template.render({"rows": page.object_list}, request))

    module = types.ModuleType("bench_referrers_urls")
    module.urlpatterns = [path("bench-baseline/", baseline), path("", include("refloop.urls"))]
    sys.modules[module.__name__] = module
    settings.ROOT_URLCONF = module.__name__
    clear_url_caches()


if __name__ == "__main__":
    main()
