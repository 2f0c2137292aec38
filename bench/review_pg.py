"""The monthly review end to end in PostgreSQL (issue 5, Performance: 1,000,000 referrals, about
8,000,000 events, under 10 s), and what the fact table costs to build from the events.

Against the database DATABASE_URL names, with the demo loaded (`manage.py refloop_demo --scale
40` for a million referrals: the loader builds the fact table from the events at its end). Times,
in one run:

  - facts_frame: reading every fact row out of PostgreSQL into Polars (COPY), for scale: the
    review itself reads only its window (the month, the twelve before, and what is still open);
  - review_build: every metric of the review over those rows (headline against last month and the
    goals, funnel, cycle times, communication, loop closure, bottlenecks, referrers and drop-off
    alerts, access);
  - review_pdf and review_html: the documents, charts included;
  - end to end: review_month (read and build) plus the PDF, as `manage.py refloop_review` does;
  - facts_rebuild_all on a sample of --rebuild referrals from the events (referrals a second),
    the baseline for what the scheduler's upkeep costs.

Prints one JSON object.

    DATABASE_URL=postgres://... python bench/review_pg.py --label big
"""

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refloop.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Max, Q  # noqa: E402
from django.utils import timezone  # noqa: E402

from refloop.analytics.models import ReferralFact  # noqa: E402
from refloop.analytics.queries import facts_frame  # noqa: E402
from refloop.analytics.review import review_html, review_pdf, review_window  # noqa: E402
from refloop.analytics.review_services import review_month  # noqa: E402
from refloop.analytics.scope import month_before  # noqa: E402
from refloop.analytics.sources import facts_refresh  # noqa: E402
from refloop.referrals.models import Referral, ReferralEvent  # noqa: E402

GOAL_SECONDS = 10


def timed(work):
    started = time.perf_counter()
    result = work()
    return result, round(time.perf_counter() - started, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", default="")
    parser.add_argument("--rebuild", type=int, default=20000, help="referrals to rebuild facts for")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("This benchmark measures PostgreSQL: set DATABASE_URL=postgres://...")
    month = month_before(timezone.localdate())
    frame, read_seconds = timed(facts_frame)
    review, end_to_end = timed(lambda: review_month(month=month))
    pdf, pdf_seconds = timed(lambda: review_pdf(review))
    html, html_seconds = timed(lambda: review_html(review))
    end_to_end = round(end_to_end + pdf_seconds, 2)
    since = timezone.make_aware(dt.datetime.combine(review_window(month), dt.time.min))
    in_window = ReferralFact.objects.filter(
        Q(received_at__gte=since) | Q(ended_at__isnull=True) | Q(ended_at__gte=since)
    ).count()
    top = Referral.objects.aggregate(top=Max("pk"))["top"] or 0
    sample = range(max(1, top - args.rebuild + 1), top + 1)
    written, rebuild_seconds = timed(lambda: facts_refresh(referral_ids=sample))
    result = {
        "label": args.label,
        "referrals": Referral.objects.count(),
        "events": ReferralEvent.objects.count(),
        "fact_rows": ReferralFact.objects.count(),
        "month": f"{month:%Y-%m}",
        "facts_frame_seconds": read_seconds,  # every row: what the review does not need
        "review_window_rows": in_window,  # what it reads: its 13 months and the open ones
        "frame_rows": frame.height,
        "frame_mb": round(frame.estimated_size() / 1e6),
        "review_end_to_end_seconds": end_to_end,
        "review_pdf_seconds": pdf_seconds,
        "review_pdf_kb": round(len(pdf) / 1e3),
        "review_html_seconds": html_seconds,
        "review_html_kb": round(len(html) / 1e3),
        "goal_seconds": GOAL_SECONDS,
        "goal_met": end_to_end < GOAL_SECONDS,
        "facts_rebuild": {
            "referrals": written,
            "seconds": rebuild_seconds,
            "referrals_per_second": round(written / rebuild_seconds) if rebuild_seconds else None,
        },
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
