"""HL7 REF^I12 intake over MLLP on PostgreSQL: sustained referrals a second and send->ACK latency.

Starts the real listener (`manage.py refloop_hl7_listener`, its own process), then sends N
distinct REF^I12 (each a new patient, from the REF-I12-01 conformance message) over K concurrent
MLLP connections, each connection sending its next message when the last one was acknowledged.
Baselines measured in the same run: the same listener answering ADT^A03 (stored raw, acknowledged
and ignored: the cost of the socket, the commit of the raw message and the ACK), and
referral_receive called directly in this process, one after another (the domain's own cost).
Prints one JSON line. Needs a migrated database with the demo loaded (refloop_demo --scale 1):

    DATABASE_URL=postgres://... python bench/hl7_intake.py --messages 2000 --connections 8

`--processes` listener processes share the port (default: one per CPU).
"""

import argparse
import asyncio
import json
import os
import socket
import statistics
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

from refloop.directory.models import ServiceLine  # noqa: E402
from refloop.interop.hl7v2.handlers.common import Context  # noqa: E402
from refloop.interop.hl7v2.handlers.ref import submission_from  # noqa: E402
from refloop.interop.hl7v2.mllp import BLOCK_LIMIT  # noqa: E402
from refloop.interop.hl7v2.models import Hl7Partner  # noqa: E402
from refloop.interop.hl7v2.parsing import Reader, header_read, message_parse, text_of  # noqa: E402
from refloop.referrals.services import referral_receive  # noqa: E402

DATA = ROOT / "tests" / "data" / "hl7v2"
FACILITY = "BENCHFAC"


def partner_ready() -> Hl7Partner:
    line = ServiceLine.objects.filter(active=True).order_by("pk").first()
    if line is None:
        sys.exit("No service line: load the demo first (manage.py refloop_demo --scale 1).")
    partner, _ = Hl7Partner.objects.update_or_create(
        sending_facility=FACILITY,
        sending_application="",
        defaults={"name": "Bench hospital", "default_service_line": line, "active": True},
    )
    return partner


def referral_message(run: str, n: int) -> bytes:
    """A distinct REF^I12: own control id, own originating referral id, own patient."""
    raw = (DATA / "REF-I12-01.hl7").read_bytes()
    family = "".join(chr(ord("A") + int(d)) for d in f"{n:06d}")
    return (
        raw.replace(b"|GHHSFacility^", f"|{FACILITY}^".encode(), 1)
        .replace(b"MSG00112", f"B{run}-{n}".encode())
        .replace(b"226839^EPIC", f"{run}-{n}^BENCH".encode())
        .replace(b"PATID1234", f"B{run}{n}".encode())
        .replace(b"EVERYMAN^ADAM", f"BENCH{family}^ADAM".encode())
    )


def ignored_message(run: str, n: int) -> bytes:
    raw = (DATA / "ADT-A03-01.hl7").read_bytes()
    return raw.replace(b"|GHHSFacility^", f"|{FACILITY}^".encode(), 1).replace(
        b"MSG00001", f"A{run}-{n}".encode()
    )


async def _connection(port: int, messages: list[bytes], latencies: list[float]) -> int:
    from hl7.mllp import open_hl7_connection

    reader, writer = await open_hl7_connection("127.0.0.1", port, limit=BLOCK_LIMIT)
    accepted = 0
    for message in messages:
        started = time.perf_counter()
        writer.writeblock(message)
        await writer.drain()
        answer = await reader.readblock()
        latencies.append(time.perf_counter() - started)
        accepted += b"MSA|AA|" in answer
    writer.close()
    return accepted


async def _send_all(port: int, messages: list[bytes], connections: int) -> dict:
    latencies: list[float] = []
    shares = [messages[i::connections] for i in range(connections)]
    started = time.perf_counter()
    accepted = await asyncio.gather(*(_connection(port, s, latencies) for s in shares))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "messages": len(messages),
        "accepted_aa": sum(accepted),
        "seconds": round(elapsed, 2),
        "per_second": round(len(messages) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listener_start(port: int, processes: int) -> subprocess.Popen:
    env = {**os.environ, "CONN_MAX_AGE": "600", "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "refloop_hl7_listener",
            "--port",
            str(port),
            "--processes",
            str(processes),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    sys.exit("The listener did not start.")


def direct_rate(run: str, count: int, partner: Hl7Partner) -> dict:
    """referral_receive called directly, the submission built by the same mapping."""
    submissions = []
    for n in range(count):
        text = text_of(referral_message(f"{run}d", n))
        context = Context(
            header=header_read(text),
            reader=Reader(message_parse(text)),
            partner=partner,
            message_id=0,
        )
        submissions.append(submission_from(context))
    started = time.perf_counter()
    for submission in submissions:
        referral_receive(submission=submission, actor=None)
    elapsed = time.perf_counter() - started
    return {"messages": count, "per_second": round(count / elapsed, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--direct", type=int, default=300)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("warning: not PostgreSQL; the goal is stated for PostgreSQL", file=sys.stderr)
    partner = partner_ready()
    run = str(int(time.time()))
    port = free_port()
    listener = listener_start(port, args.processes)
    try:
        warmup = [referral_message(f"{run}w", n) for n in range(40)]
        asyncio.run(_send_all(port, warmup, args.connections))
        referrals = [referral_message(run, n) for n in range(args.messages)]
        ignored = [ignored_message(run, n) for n in range(args.messages)]
        intake = asyncio.run(_send_all(port, referrals, args.connections))
        baseline = asyncio.run(_send_all(port, ignored, args.connections))
    finally:
        listener.terminate()
        listener.wait(10)
    direct = direct_rate(run, args.direct, partner)
    print(
        json.dumps(
            {
                "bench": "hl7_ref_i12_over_mllp",
                "database": connection.vendor,
                "connections": args.connections,
                "listener_processes": args.processes,
                "cpus": os.cpu_count(),
                "load_average_1m": round(os.getloadavg()[0], 1),
                "ref_i12": intake,
                "baseline_ack_only_adt_a03": baseline,
                "baseline_referral_receive_direct_sequential": direct,
                "ratio_ref_to_ack_only_rate": round(
                    intake["per_second"] / baseline["per_second"], 2
                ),
                "goal_met": intake["per_second"] >= 100 and intake["p95_ms"] < 100,
            }
        )
    )


if __name__ == "__main__":
    main()
