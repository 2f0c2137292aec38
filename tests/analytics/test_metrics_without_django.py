"""The metric modules import and run without Django (`refloop audit` has no server)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import datetime as dt, sys
from zoneinfo import ZoneInfo
from refloop.analytics.facts import facts_empty
from refloop.analytics.metrics import bottlenecks, communication, cycle, funnel, headline
from refloop.analytics.metrics import leakage, loop_closure
from refloop.analytics.scope import Scope, month_before

tz = ZoneInfo("America/New_York")
scope = Scope.month(dt.date(2025, 3, 1), tz=tz)
previous = scope.shifted(start=month_before(scope.start), end=scope.start)
rows = facts_empty()
funnel.funnel(rows, scope)
cycle.cycle_times_by(rows, scope)
communication.communication(rows, scope)
bottlenecks.bottlenecks(rows, scope)
leakage.leakage(rows, scope)
loop_closure.loop_closure_cms50(rows, year=2025, tz=tz)
headline.headline(rows, scope, previous=previous, targets={})
assert not [m for m in sys.modules if m == "django" or m.startswith("django.")], "imported Django"
print("ok")
"""


def test_it_imports_and_runs_the_metrics_without_django():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
