"""FHIR referral intake under load, on PostgreSQL: transaction Bundles POSTed over real HTTP.

Starts W server processes (Django's threaded WSGI server, one thread per connection, the same
app `manage.py runserver` serves; DB connections kept per connection with CONN_MAX_AGE), then
K client threads, each with a keep-alive connection, POST N distinct referral Bundles (the
ServiceRequest with its Patient, Practitioner, PractitionerRole, Organization, Coverage,
Condition and a DocumentReference carrying a one-page PDF), each one a new referral through
referral_receive. Then it resends a sample (each must come back "200 OK" with the same id and
create nothing). Baselines measured in the same run: the same Bundles processed in-process with
no HTTP (parse, validate, map, referral_receive), and GET /fhir/R4/metadata over the same
servers (the HTTP floor). Prints one JSON object.

Needs a migrated database (uses an active service line and a directory clinician when the demo
is loaded, e.g. `manage.py refloop_demo --scale 1`; creates its own otherwise). The referrals it
makes stay in the database: point it at a scratch or bench database.

    DATABASE_URL=postgres://... python bench/fhir_intake.py --referrals 1000 --clients 8
"""

import argparse
import base64
import http.client
import json
import logging
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refloop.settings")


def serve(port: int) -> None:
    """One server process (the --serve mode of this script)."""
    import django

    django.setup()
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):  # one line per request would be the bottleneck
            pass

    class Server(ThreadedWSGIServer):
        request_queue_size = 256

    # Per-request error lines (a 501 metadata before the read side is merged) would swamp the
    # output; statuses are counted by the clients instead.
    logging.disable(logging.ERROR)
    server = Server(("127.0.0.1", port), QuietHandler)
    server.set_app(get_wsgi_application())
    server.serve_forever()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary(latencies: list[float], wall: float) -> dict:
    return {
        "count": len(latencies),
        "seconds": round(wall, 2),
        "per_second": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
    }


def prepare():
    """A service line, a directory referrer (NPI), and an API client for the bench."""
    import django

    django.setup()
    from refloop.directory.enums import DocumentKind, Priority, TargetKind, TargetUnit
    from refloop.directory.models import (
        ChecklistTemplateItem,
        Clinician,
        Organization,
        ResponseTarget,
        ServiceLine,
    )
    from refloop.interop.fhir.auth import key_hash
    from refloop.interop.fhir.models import ApiClient

    line = ServiceLine.objects.filter(active=True).order_by("pk").first()
    if line is None:
        line = ServiceLine.objects.create(code="bench-fhir", name="Bench FHIR")
        ChecklistTemplateItem.objects.create(
            service_line=line, name="Clinical notes", document_kind=DocumentKind.NOTES
        )
        for priority in Priority.values:
            for kind in TargetKind.values:
                days = kind == TargetKind.APPOINTMENT  # a check constraint ties unit to kind
                ResponseTarget.objects.create(
                    service_line=line,
                    priority=priority,
                    kind=kind,
                    amount=30 if days else 48,
                    unit=TargetUnit.CALENDAR_DAYS if days else TargetUnit.BUSINESS_HOURS,
                )
    npi = Clinician.objects.exclude(npi=None).exclude(npi="").values_list("npi", flat=True).first()
    stamp = uuid.uuid4().hex[:8]
    organization = Organization.objects.create(
        name=f"Bench Clinic {stamp}", kind="referring_practice"
    )
    key = secrets.token_urlsafe(24)
    client = ApiClient.objects.create(
        name=f"Bench EHR {stamp}",
        organization=organization,
        client_id=f"bench-{stamp}",
        key_hash=key_hash(key),
    )
    return line, npi or "", client, key, stamp


def bundle(*, n: int, stamp: str, line_code: str, npi: str, pdf: bytes) -> dict:
    from refloop.interop.fhir.inbound.mapping import NPI_SYSTEM, SERVICE_LINE_SYSTEM

    ids = {
        k: f"urn:uuid:{uuid.uuid4()}"
        for k in ("sr", "pat", "pr", "role", "org", "cov", "cond", "doc")
    }
    placer = f"BENCH-{stamp}-{n}"

    def entry(key, resource, request=None):
        return {
            "fullUrl": ids[key],
            "resource": resource,
            "request": request or {"method": "POST", "url": resource["resourceType"]},
        }

    practitioner = {"resourceType": "Practitioner", "name": [{"family": "Bench", "given": ["Ana"]}]}
    if npi:
        practitioner["identifier"] = [{"system": NPI_SYSTEM, "value": npi}]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            entry(
                "sr",
                {
                    "resourceType": "ServiceRequest",
                    "identifier": [{"system": "urn:bench:placer", "value": placer}],
                    "status": "active",
                    "intent": "order",
                    "priority": ("routine", "urgent")[n % 2],
                    "category": [{"coding": [{"system": SERVICE_LINE_SYSTEM, "code": line_code}]}],
                    "subject": {"reference": ids["pat"]},
                    "requester": {"reference": ids["role"]},
                    "reasonCode": [{"text": "Knee pain for six months, failed physiotherapy"}],
                    "reasonReference": [{"reference": ids["cond"]}],
                    "insurance": [{"reference": ids["cov"]}],
                    "supportingInfo": [{"reference": ids["doc"]}],
                },
                {
                    "method": "POST",
                    "url": "ServiceRequest",
                    "ifNoneExist": f"identifier=urn:bench:placer|{placer}",
                },
            ),
            entry(
                "pat",
                {
                    "resourceType": "Patient",
                    "name": [{"family": f"Benchpatient{stamp}{n}", "given": ["Sam"]}],
                    "gender": "female",
                    "birthDate": f"19{50 + n % 50}-0{1 + n % 9}-1{n % 10}",
                    "telecom": [{"system": "phone", "value": "+15550100000"}],
                },
            ),
            entry("pr", practitioner),
            entry(
                "role",
                {
                    "resourceType": "PractitionerRole",
                    "practitioner": {"reference": ids["pr"]},
                    "organization": {"reference": ids["org"]},
                },
            ),
            entry("org", {"resourceType": "Organization", "name": "Bench Clinic"}),
            entry(
                "cov",
                {
                    "resourceType": "Coverage",
                    "status": "active",
                    "subscriberId": f"M{n}",
                    "beneficiary": {"reference": ids["pat"]},
                    "payor": [{"display": "Acme Health"}],
                },
            ),
            entry(
                "cond",
                {
                    "resourceType": "Condition",
                    "subject": {"reference": ids["pat"]},
                    "code": {
                        "coding": [
                            {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M17.11"}
                        ]
                    },
                },
            ),
            entry(
                "doc",
                {
                    "resourceType": "DocumentReference",
                    "status": "current",
                    "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4"}]},
                    "subject": {"reference": ids["pat"]},
                    "content": [
                        {
                            "attachment": {
                                "contentType": "application/pdf",
                                "title": "Clinic notes",
                                "data": base64.b64encode(pdf).decode(),
                            }
                        }
                    ],
                },
            ),
        ],
    }


def one_page_pdf() -> bytes:
    import io

    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "Clinic notes (synthetic, benchmark)")
    page.save()
    return out.getvalue()


def hammer(ports, key, bodies, clients, *, method="POST", path="/fhir/R4/"):
    """Send every body from `clients` threads (keep-alive, one connection each); returns the
    latencies, the answers and the wall time."""
    latencies, answers, errors = [], [], []
    lock = threading.Lock()
    chunks = [bodies[i::clients] for i in range(clients)]
    start_gate = threading.Barrier(clients + 1)

    def run(index, chunk):
        connection = http.client.HTTPConnection("127.0.0.1", ports[index % len(ports)], timeout=60)
        headers = {
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/fhir+json",
            "Accept": "application/fhir+json",
        }
        mine, got = [], []
        start_gate.wait()
        for body in chunk:
            began = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            mine.append(time.perf_counter() - began)
            got.append((response.status, data))
        connection.close()
        with lock:
            latencies.extend(mine)
            answers.extend(got)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(chunks) if c]
    start_gate = threading.Barrier(len(threads) + 1)
    for thread in threads:
        thread.start()
    start_gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if errors:
        raise SystemExit(errors[0])
    return latencies, answers, wall


def query_cost_ms(rounds: int = 2000) -> float:
    """This machine's price of one trivial ORM query (PK lookup): scales the other numbers."""
    from refloop.referrals.models import Referral

    began = time.perf_counter()
    for n in range(rounds):
        Referral.objects.filter(pk=n).exists()
    return round((time.perf_counter() - began) / rounds * 1000, 3)


def in_process(bodies: list[bytes], client) -> dict:
    """Baseline: the same work with no HTTP: parse, validate, map, referral_receive."""
    from refloop.interop.fhir.inbound.parse import resource_parse
    from refloop.interop.fhir.inbound.services import transaction_receive

    latencies = []
    began = time.perf_counter()
    for body in bodies:
        t = time.perf_counter()
        parsed = resource_parse(body=body, content_type="application/fhir+json")
        received = transaction_receive(bundle=parsed, client=client)
        assert received.created
        latencies.append(time.perf_counter() - t)
    return summary(latencies, time.perf_counter() - began)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--referrals", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 4)
    parser.add_argument("--baseline", type=int, default=200)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)

    line, npi, client, key, stamp = prepare()
    from django.db import connection

    from refloop.referrals.models import Referral

    assert connection.vendor == "postgresql", "run it on PostgreSQL (DATABASE_URL)"
    pdf = one_page_pdf()
    total = args.referrals + args.baseline + 50
    bodies = [
        json.dumps(
            bundle(n=n, stamp=stamp, line_code=line.code, npi=npi, pdf=pdf), separators=(",", ":")
        ).encode()
        for n in range(total)
    ]
    warm, timed, base = bodies[:50], bodies[50 : 50 + args.referrals], bodies[50 + args.referrals :]

    env = {**os.environ, "CONN_MAX_AGE": "600", "PYTHONPATH": str(ROOT)}
    ports = [free_port() for _ in range(args.workers)]
    servers = [
        subprocess.Popen([sys.executable, __file__, "--serve", str(p)], env=env) for p in ports
    ]
    try:
        for port in ports:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
        hammer(ports, key, warm, min(args.clients, len(warm)))
        before = Referral.objects.count()
        latencies, answers, wall = hammer(ports, key, timed, args.clients)
        created = Referral.objects.count() - before
        bad = [
            (s, d[:300])
            for s, d in answers
            if s != 200 or json.loads(d)["entry"][0]["response"]["status"] != "201 Created"
        ]
        sample = timed[: min(200, len(timed))]
        _, resent, _ = hammer(ports, key, sample, min(args.clients, len(sample)))
        resend_ok = (
            all(
                s == 200 and json.loads(d)["entry"][0]["response"]["status"] == "200 OK"
                for s, d in resent
            )
            and Referral.objects.count() - before == created
        )
        meta_latencies, meta_answers, meta_wall = hammer(
            ports, key, [b""] * 2000, args.clients, method="GET", path="/fhir/R4/metadata"
        )
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait()
    baseline = in_process(base, client)
    result = {
        "bench": "fhir_intake",
        "database": connection.vendor,
        "cpus": os.cpu_count(),
        "one_trivial_orm_query_ms": query_cost_ms(),
        "workers": args.workers,
        "clients": args.clients,
        "referral_bundles_over_http": summary(latencies, wall),
        "referrals_created": created,
        "refused_or_unexpected": len(bad),
        "resend_sample": len(sample),
        "resends_all_no_op": resend_ok,
        "baseline_in_process_one_thread": baseline,
        "baseline_get_metadata_over_http": {
            **summary(meta_latencies, meta_wall),
            "statuses": sorted({status for status, _ in meta_answers}),
        },
        "goal": "at least 100 referrals/s, p95 under 100 ms",
        "goal_met": wall > 0
        and len(latencies) / wall >= 100
        and percentile(latencies, 0.95) < 0.1
        and not bad,
    }
    if bad:
        result["first_refusal"] = str(bad[0])
    print(json.dumps(result, indent=2))
    return 0 if not bad and resend_ok else 1


if __name__ == "__main__":
    sys.exit(main())
