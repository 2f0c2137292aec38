"""Server time of the staff pages that matter, against whatever database DATABASE_URL names.

Each scenario is requested through Django's full stack (middleware, views, templates, access log)
in this process, as a signed-in, two-factor-verified manager. Prints one JSON line per scenario:
median and p95 in milliseconds and the query count, so bench.sh can compare databases in one run.

    DATABASE_URL=... python bench/pages.py --label 1M --repeat 30
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refloop.settings")
# The bench calls pages with the test client, which needs this host.
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from refloop.directory.models import Patient, ServiceLine  # noqa: E402
from refloop.referrals.enums import OPEN_STATES  # noqa: E402
from refloop.referrals.models import Referral  # noqa: E402


def signed_in_manager() -> Client:
    user = User.objects.get(username="manager")
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def scenarios(rng: random.Random):
    """(name, method, path, data) — ids picked from the data, the same for every repeat."""
    line = ServiceLine.objects.order_by("pk").first()
    open_ids = list(
        Referral.objects.filter(state__in=OPEN_STATES).order_by("pk").values_list("pk", flat=True)
    )
    any_ids = list(Referral.objects.order_by("-pk").values_list("pk", flat=True)[:5000])
    patient = Patient.objects.order_by("pk")[Patient.objects.count() // 2]
    some = rng.sample(any_ids, 1)[0]
    return [
        ("worklist: all open", "get", "/", {}),
        ("worklist: state=triage", "get", "/", {"state": "triage"}),
        ("worklist: line+urgent", "get", "/", {"line": line.pk, "priority": "urgent"}),
        ("worklist: clock=breached", "get", "/", {"clock": "breached"}),
        ("worklist: blocker=missing", "get", "/", {"blocker": "missing_records"}),
        ("worklist: unassigned p3", "get", "/", {"assignee": "none", "page": 3}),
        ("search: last name prefix", "post", "/search/", {"last_name": patient.last_name[:4]}),
        (
            "search: name + DOB",
            "post",
            "/search/",
            {"last_name": patient.last_name, "birth_date": patient.birth_date.isoformat()},
        ),
        ("search: number", "post", "/search/", {"number": f"R-{some:07d}"}),
        ("referral page: open", "get", lambda: f"/referrals/{rng.choice(open_ids)}/", {}),
        ("referral page: any", "get", lambda: f"/referrals/{rng.choice(any_ids)}/", {}),
    ]


def measure(client: Client, method: str, path, data: dict, repeat: int) -> dict:
    timings, queries = [], 0
    for i in range(repeat + 2):
        url = path() if callable(path) else path
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = getattr(client, method)(url, data)
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{method.upper()} {url} answered {response.status_code}")
        if i >= 2:  # the first two warm caches
            timings.append(elapsed)
            queries = max(queries, len(captured))
    timings.sort()
    return {
        "median_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[min(len(timings) - 1, int(len(timings) * 0.95))], 1),
        "queries": queries,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", required=True)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    client = signed_in_manager()
    referrals = Referral.objects.count()
    for name, method, path, data in scenarios(random.Random(7)):
        result = measure(client, method, path, data, args.repeat)
        print(json.dumps({"db": args.label, "referrals": referrals, "scenario": name, **result}))


if __name__ == "__main__":
    main()
