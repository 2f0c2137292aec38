"""Per-referrer service figures and the score, worked by hand (analytics.metrics.
referrer_service). Scope: December 2025 in New York, a 12-month window (January to December
2025), as_of 2026-01-01 00:00 local."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from refloop.analytics.metrics.referrer_service import referrer_score, referrer_service
from refloop.analytics.metrics.referrers import referrers, window
from tests.analytics.factories import facts
from tests.analytics.test_referrers import DECEMBER, OLD, monthly

HOURS = 3600


def test_it_counts_how_fast_we_answered_each_referrer_and_the_reports_on_time():
    rows = facts(
        # acknowledged in 2 business hours, met; seen April 1, delivered April 10: on time
        {"referrer_key": "a", "received_at": "2025-03-03 10:00",
         "acknowledged_at": "2025-03-03 12:00", "acknowledged_gross": 2 * HOURS,
         "acknowledged_net": 2 * HOURS, "acknowledge_met": True,
         "seen_at": "2025-04-01 10:00", "report_delivered_at": "2025-04-10 10:00"},
        # 8 business hours, missed; seen June 2, delivered June 20: after the 14th day (June 16)
        {"referrer_key": "a", "received_at": "2025-05-05 10:00",
         "acknowledged_at": "2025-05-06 10:00", "acknowledged_gross": 8 * HOURS,
         "acknowledged_net": 8 * HOURS, "acknowledge_met": False,
         "seen_at": "2025-06-02 10:00", "report_delivered_at": "2025-06-20 10:00"},
        # 4 hours, met; seen December 20: its 14 days run to January 3, not judged yet
        {"referrer_key": "a", "received_at": "2025-06-02 10:00",
         "acknowledged_at": "2025-06-02 14:00", "acknowledged_gross": 4 * HOURS,
         "acknowledged_net": 4 * HOURS, "acknowledge_met": True, "seen_at": "2025-12-20 10:00"},
        # never acknowledged, declined July 10: the target was missed
        {"referrer_key": "a", "received_at": "2025-07-01 10:00", "acknowledge_met": False,
         "ended_at": "2025-07-10 10:00"},
        # before the window: no part of it
        {"referrer_key": "a", "received_at": "2024-12-15 10:00",
         "acknowledged_at": "2024-12-15 11:00", "acknowledged_gross": 1 * HOURS,
         "acknowledged_net": 1 * HOURS, "acknowledge_met": True},
        {"referrer_key": "b", "received_at": "2025-08-04 10:00"},
    )  # fmt: skip
    served = referrer_service(rows, DECEMBER, months=12)
    a = served["a"]
    assert a.ack_count == 3
    assert a.ack_median_hours == 4.0  # the median of 2, 8 and 4 hours
    assert (a.ack_judged, a.ack_within_target) == (4, 0.5)  # met 2 of 4
    assert (a.reports_judged, a.reports_on_time) == (2, 0.5)
    b = served["b"]
    assert (b.ack_count, b.ack_median_hours, b.ack_within_target, b.reports_on_time) == (
        0, None, None, None,
    )  # fmt: skip


def scored(*rows):
    report = referrers(facts(OLD, *rows), DECEMBER)
    w = window(DECEMBER)
    alerts = {a.key: a for a in report.alerts}
    return {
        r.key: (r.segment, referrer_score(r, alerts.get(r.key), exposures=w.exposures))
        for r in report.referrers
    }


def test_it_scores_the_volume_at_risk_and_the_opportunity():
    result = scored(
        *monthly("dormant", [4] * 9 + [0, 0, 0]),
        *monthly("new", [0] * 8 + [2, 3, 4, 5]),
        *monthly("steady", [5] * 12),
        *monthly("dropping", [3] * 10 + [0, 0]),
    )
    # Dormant: 4 a month in April to September, none in October to December: 4 at risk.
    assert result["dormant"] == ("dormant", 4.0)
    # New: half of the last 3 months' 12 / 3 = 4 a month.
    assert result["new"] == ("new", 2.0)
    assert result["steady"] == ("steady", 0.0)
    # Drop-off: 30 in the 304 days of January to October predict 30 x 61 / 304 = 6.02 for
    # November and December, none came: 6.02 / 61 days x 30.44 = 3.004 a month, more than the
    # 3 - 1 = 2 of the rates (April to September 3 a month, October to December 1).
    segment, score = result["dropping"]
    assert score == pytest.approx(30 / 304 * 30.44)


def test_it_runs_without_django():
    script = (
        "import sys, datetime as dt\n"
        "from zoneinfo import ZoneInfo\n"
        "from refloop.analytics.facts import facts_empty\n"
        "from refloop.analytics.metrics.referrer_service import referrer_service\n"
        "from refloop.analytics.scope import Scope\n"
        "scope = Scope.month(dt.date(2025, 3, 1), tz=ZoneInfo('America/New_York'))\n"
        "assert referrer_service(facts_empty(), scope, months=24) == {}\n"
        "assert not [m for m in sys.modules if m.startswith('django')]\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
