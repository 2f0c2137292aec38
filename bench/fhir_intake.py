"""FHIR referral intake under load, on PostgreSQL: transaction Bundles POSTed over real HTTP.

Serves the app the way the README says to serve it in production: gunicorn, one gthread worker
process per core with 4 threads each, connections kept alive (`--threads 1`: sync workers, a
connection per request; `--server django`: Django's threaded development server, for
comparison), DB connections kept with CONN_MAX_AGE. Each request is a distinct referral Bundle
(the ServiceRequest with its Patient, Practitioner, PractitionerRole, Organization, Coverage,
Condition and a DocumentReference carrying a one-page PDF), each one a new referral through
referral_receive; the bodies are built before any timing. Measured:

- offered load (open loop): requests start on a fixed schedule, --rate a second, whatever the
  answers; latency counts from the scheduled start, so time spent queueing counts;
- closed loop: --clients connections, each sending its next Bundle when the last was answered:
  the maximum throughput;
- for each, the CPU seconds per referral of the server processes and of their PostgreSQL
  backends (and of this load generator), from /proc: on a shared machine the wall clock says how
  busy the others were, the CPU says what the work cost.

Then it resends a sample (each must come back "200 OK" with the same id and create nothing).
Baselines in the same run: the same kind of Bundles processed in-process with no HTTP (parse,
validate, map, referral_receive), and GET /fhir/R4/metadata over the same servers (the HTTP
floor). Prints one JSON object.

Needs a migrated database (uses an active service line and a directory clinician when the demo
is loaded, e.g. `manage.py refloop_demo --scale 1`; creates its own otherwise). The referrals it
makes stay in the database: point it at a scratch or bench database.

    DATABASE_URL=postgres://... python bench/fhir_intake.py --referrals 1000 --rate 100
"""

import argparse
import base64
import http.client
import itertools
import json
import logging
import os
import resource
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
# Production settings, as the README serves it (unless given): with DEBUG on, Django keeps the SQL
# and time of every query, which a deployment does not pay for.
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")


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


def servers_start(
    kind: str, workers: int, env: dict, threads: int = 1
) -> tuple[list[subprocess.Popen], list[int]]:
    """gunicorn (one master, `workers` worker processes, one port: sync workers, or gthread
    workers of `threads` threads when threads > 1, which keep connections alive), or `workers`
    Django threaded servers (one port each)."""
    if kind == "gunicorn":
        port = free_port()
        command = [
            os.path.join(os.path.dirname(sys.executable), "gunicorn"),
            "refloop.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            "--worker-class=sync" if threads == 1 else "--worker-class=gthread",
            f"--threads={threads}",
            "--backlog=2048",
            "--log-level=critical",  # statuses are counted by the clients
        ]
        return [subprocess.Popen(command, env=env, cwd=ROOT)], [port]
    ports = [free_port() for _ in range(workers)]
    servers = [
        subprocess.Popen([sys.executable, __file__, "--serve", str(p)], env=env) for p in ports
    ]
    return servers, ports


def process_tree(pids: list[int]) -> list[int]:
    """The processes and all their descendants (gunicorn's workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_of(pids) -> dict[int, float]:
    """CPU seconds so far of each process, user + system, its reaped children's included: a
    gunicorn worker or a PostgreSQL backend that ended leaves its CPU with its parent."""
    tick, used = os.sysconf("SC_CLK_TCK"), {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = sum(int(f) for f in fields[11:15]) / tick
    return used


def cpu_snapshot(servers) -> dict:
    """CPU so far of the app servers (their process trees), of the PostgreSQL server (the
    postmaster's tree: every backend, ended ones included, and the WAL writer and checkpointer
    that the writes keep busy; the cluster must be the bench's own) and of this process."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "app": cpu_of(process_tree([s.pid for s in servers])),
        "postgres": cpu_of(process_tree([postmaster])),
        "client": usage.ru_utime + usage.ru_stime,
    }


def cpu_per_referral(before: dict, after: dict, count: int) -> dict:
    """Milliseconds of CPU per request: the app servers, their PostgreSQL backends, their sum,
    and the load generator (not counted in the sum)."""

    def spent(kind):
        return sum(v - before[kind].get(pid, 0.0) for pid, v in after[kind].items())

    app, postgres = spent("app"), spent("postgres")
    return {
        "app_ms": round(app / count * 1000, 2),
        "postgres_ms": round(postgres / count * 1000, 2),
        "total_ms": round((app + postgres) / count * 1000, 2),
        "load_generator_ms": round((after["client"] - before["client"]) / count * 1000, 2),
    }


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


WARM = 100  # referrals sent before timing
HEADERS = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}


class Connection:
    """One client connection, opened again when the server closed it (gunicorn's sync workers
    answer one request per connection)."""

    def __init__(self, port: int, key: str):
        self.port, self.http = port, None
        self.headers = {**HEADERS, "Authorization": f"Bearer {key}"}

    def send(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if self.http is None:
            self.http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        self.http.request(method, path, body=body, headers=self.headers)
        response = self.http.getresponse()
        data = response.read()
        if response.will_close:
            self.http.close()
            self.http = None
        return response.status, data

    def close(self):
        if self.http is not None:
            self.http.close()


def hammer(ports, key, bodies, clients, *, method="POST", path="/fhir/R4/"):
    """Closed loop: send every body from `clients` threads, each sending its next when the last
    was answered; returns the latencies, the answers and the wall time."""
    latencies, answers = [], []
    lock = threading.Lock()
    chunks = [c for c in (bodies[i::clients] for i in range(clients)) if c]
    start_gate = threading.Barrier(len(chunks) + 1)

    def run(index, chunk):
        connection = Connection(ports[index % len(ports)], key)
        mine, got = [], []
        start_gate.wait()
        for body in chunk:
            began = time.perf_counter()
            got.append(connection.send(method, path, body))
            mine.append(time.perf_counter() - began)
        connection.close()
        with lock:
            latencies.extend(mine)
            answers.extend(got)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(chunks)]
    for thread in threads:
        thread.start()
    start_gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return latencies, answers, time.perf_counter() - began


def offer(ports, key, bodies, rate: float, clients: int):
    """Open loop: request n starts at n / rate seconds, whatever the answers (`clients` threads
    take the requests in order; a request no thread is free for waits, and that wait counts).
    Latency is from the scheduled start to the answer. Returns the latencies, the answers, the
    wall time and how many requests were sent over 10 ms after their time because every client
    thread was still waiting on an answer (the server that far behind; their latency still
    counts from the scheduled start)."""
    latencies, answers, late = [], [], []
    lock = threading.Lock()
    tickets = itertools.count()
    start_gate = threading.Barrier(clients + 1)
    began = 0.0

    def run(index):
        connection = Connection(ports[index % len(ports)], key)
        mine, got, behind = [], [], 0
        start_gate.wait()
        while (n := next(tickets)) < len(bodies):
            due = began + n / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            elif wait < -0.01:
                behind += 1
            got.append(connection.send("POST", "/fhir/R4/", bodies[n]))
            mine.append(time.perf_counter() - due)
        connection.close()
        with lock:
            latencies.extend(mine)
            answers.extend(got)
            late.append(behind)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter() + 0.05
    start_gate.wait()
    for thread in threads:
        thread.join()
    return latencies, answers, time.perf_counter() - began, sum(late)


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


def created_ok(answers) -> list:
    """The answers that are not a new referral (status 200, the ServiceRequest '201 Created')."""
    return [
        (s, d[:300])
        for s, d in answers
        if s != 200 or json.loads(d)["entry"][0]["response"]["status"] != "201 Created"
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--referrals", type=int, default=1000, help="for each of the two loads")
    parser.add_argument("--rate", type=float, default=100.0, help="offered referrals a second")
    parser.add_argument("--clients", type=int, default=8, help="closed-loop connections")
    parser.add_argument("--open-clients", type=int, default=64, help="open-loop client threads")
    parser.add_argument("--server", choices=("gunicorn", "django"), default="gunicorn")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn gthread threads; 1: sync")
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
    total = 2 * args.referrals + args.baseline + WARM
    bodies = [
        json.dumps(
            bundle(n=n, stamp=stamp, line_code=line.code, npi=npi, pdf=pdf), separators=(",", ":")
        ).encode()
        for n in range(total)
    ]
    warm, bodies = bodies[:WARM], bodies[WARM:]
    offered, closed = bodies[: args.referrals], bodies[args.referrals : 2 * args.referrals]
    base = bodies[2 * args.referrals :]

    env = {**os.environ, "CONN_MAX_AGE": "600", "PYTHONPATH": str(ROOT)}
    servers, ports = servers_start(args.server, args.workers, env, args.threads)
    try:
        for port in ports:
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
        # Every worker thread warm (its imports, its DB connection) before anything is timed.
        hammer(ports, key, warm, min(2 * args.workers * args.threads, len(warm)))
        before = Referral.objects.count()

        cpu = cpu_snapshot(servers)
        open_latencies, open_answers, open_wall, late = offer(
            ports, key, offered, args.rate, args.open_clients
        )
        open_cpu = cpu_per_referral(cpu, cpu_snapshot(servers), len(offered))

        cpu = cpu_snapshot(servers)
        latencies, answers, wall = hammer(ports, key, closed, args.clients)
        closed_cpu = cpu_per_referral(cpu, cpu_snapshot(servers), len(closed))

        created = Referral.objects.count() - before
        bad = created_ok(open_answers) + created_ok(answers)
        sample = closed[: min(200, len(closed))]
        _, resent, _ = hammer(ports, key, sample, min(args.clients, len(sample)))
        resend_ok = (
            all(
                s == 200 and json.loads(d)["entry"][0]["response"]["status"] == "200 OK"
                for s, d in resent
            )
            and Referral.objects.count() - before == created
        )
        cpu = cpu_snapshot(servers)
        meta_latencies, meta_answers, meta_wall = hammer(
            ports, key, [b""] * 2000, args.clients, method="GET", path="/fhir/R4/metadata"
        )
        meta_cpu = cpu_per_referral(cpu, cpu_snapshot(servers), 2000)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    began_cpu = usage.ru_utime + usage.ru_stime
    baseline = in_process(base, client)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    baseline["python_cpu_ms"] = round(
        (usage.ru_utime + usage.ru_stime - began_cpu) / len(base) * 1000, 2
    )
    offered_summary = summary(open_latencies, open_wall)
    closed_summary = summary(latencies, wall)
    kept_up = offered_summary["per_second"] >= 0.98 * args.rate
    result = {
        "bench": "fhir_intake",
        "database": connection.vendor,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "one_trivial_orm_query_ms": query_cost_ms(),
        # REFLOOP_PG_SERVER_SIDE_BINDING: parameters apart from the SQL, statements prepared.
        "pg_options": dict(connection.settings_dict["OPTIONS"]),
        "server": f"{args.server}, {args.workers} "
        + (
            "threaded processes"
            if args.server == "django"
            else "sync workers"
            if args.threads == 1
            else f"gthread workers x {args.threads} threads"
        ),
        "offered_load": {
            "rate_offered": args.rate,
            **offered_summary,
            "latency_from": "scheduled start",
            "started_late": late,
            "client_threads": args.open_clients,
            "cpu_per_referral": open_cpu,
        },
        "closed_loop_max": {
            "clients": args.clients,
            **closed_summary,
            "cpu_per_referral": closed_cpu,
        },
        "referrals_created": created,
        "refused_or_unexpected": len(bad),
        "resend_sample": len(sample),
        "resends_all_no_op": resend_ok,
        "baseline_in_process_one_thread": baseline,
        "baseline_get_metadata_over_http": {
            **summary(meta_latencies, meta_wall),
            "statuses": sorted({status for status, _ in meta_answers}),
            "cpu_per_request": meta_cpu,
        },
        "goal": f"at least {args.rate:g} referrals/s offered, p95 under 100 ms",
        "goal_met": kept_up
        and offered_summary["p95_ms"] < 100
        and closed_summary["per_second"] >= args.rate
        and not bad,
    }
    if bad:
        result["first_refusal"] = str(bad[0])
    print(json.dumps(result, indent=2))
    return 0 if not bad and resend_ok else 1


if __name__ == "__main__":
    sys.exit(main())
