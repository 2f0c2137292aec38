"""Import of referrals from a CSV file through the bulk path, beside raw PostgreSQL COPY of the
same rows, measured in the same run (issue 4, Performance: at least 10,000 validated rows a
second).

Needs PostgreSQL, migrated, with the demo loaded at scale 1 (its service lines and referrers are
what the rows name). Generates N synthetic rows (default 1,000,000) as another system's export
(their column names, their urgency codes and specialty names, US dates), then:

  (a) COPY of the file into a plain staging table of text columns (psycopg copy): the floor;
  (b) the real import: an ImportSource with a mapping, an ImportRun, `import_run_process`, which
      reads, maps and validates every row and receives it through the bulk path (patients
      matched or made, referrers matched by NPI, events, checklist, blockers, clocks), chunk
      N+1 read and decided while a writer thread commits chunk N with --overlap
      (files.services._pipelined; off by default, as in the app). With --serial-too, first as
      many other rows one chunk after the other: with --overlap, what the overlap gains.

  (c) the write floor: the rows (b) made, written again by PostgreSQL alone (INSERT ... SELECT
      into empty copies of their tables with the same indexes and deferred foreign keys, one
      transaction per chunk): what storing them costs the server whatever computes them. Raw
      COPY into one unindexed table (a) says how fast text moves; (c) says how fast these
      eleven-odd rows per referral, their index entries and ~13 foreign-key checks can go;
      (c) again without the foreign keys says what their checks cost.

Prints one JSON object: rows, seconds and rows/s for each, the ratios, the outcome counts, the
CPU seconds (and microseconds per row) of this process and of the PostgreSQL server (a shared
machine's wall clock says how busy the others were; the CPU says what the work cost; the
cluster must be the bench's alone) and the peak RSS of this process. The imported referrals
stay in the database (point it at a scratch one).

    DATABASE_URL=postgres://... python bench/import_csv.py --rows 200000 --overlap --serial-too
"""

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refloop.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from refloop.directory.models import Clinician, ServiceLine  # noqa: E402
from refloop.interop.files.models import ImportRun, ImportSource  # noqa: E402
from refloop.interop.files.services import import_run_process  # noqa: E402

HEADER = ["RefID", "First", "Last", "DOB", "MRN", "Referring NPI", "Referring Provider",
          "Specialty", "Urgency", "Reason", "Dx", "Referral Date"]  # fmt: skip
FIRST = ["Alex", "Jordan", "Sam", "Robin", "Casey", "Morgan", "Taylor", "Jamie", "Riley", "Avery"]
LAST = ["Benchley", "Rowe", "Harlan", "Quist", "Marlow", "Tessaro", "Vance", "Okafor", "Lind"]
REASONS = [
    "Knee pain for six months, failed physiotherapy",
    "Chest pain on exertion",
    "Persistent reflux despite PPI",
    "Changing mole on the back",
    "Abnormal CT finding",
]
DIAGNOSES = ["M17.11", "R07.9", "K21.9", "D48.5", "R91.8", "I10"]
URGENCY = [("Normal", 0.85), ("Urgent", 0.12), ("STAT", 0.03)]


def csv_write(path: Path, rows: int, seed: int, stamp: int) -> None:
    """Synthetic rows naming the demo's service lines and referrers (some unknown ones too)."""
    # A new seed each run by default: the names must not match the patients of an earlier run.
    rng = random.Random(seed if seed is not None else time.time_ns())
    lines = list(ServiceLine.objects.filter(active=True).values_list("name", flat=True))
    npis = list(
        Clinician.objects.filter(referrals_sent__isnull=False)
        .distinct()
        .values_list("npi", flat=True)
    )
    if not lines or not npis:
        sys.exit("Load the demo first: manage.py refloop_demo --scale 1")
    start = dt.datetime(2026, 1, 5, 8, 0)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            urgency = rng.choices([u for u, _ in URGENCY], [w for _, w in URGENCY])[0]
            known = rng.random() < 0.9
            received = start + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 300))
            writer.writerow(
                [
                    f"B{stamp}-{n}",
                    rng.choice(FIRST),
                    f"{rng.choice(LAST)}{stamp % 10000}x{n}",
                    f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(1935, 2015)}",
                    f"BX{stamp % 100000}{n:07d}",
                    rng.choice(npis) if known else "",
                    "Dr Bench Referrer" if known else "Dr Unlisted",
                    rng.choice(lines),
                    urgency,
                    rng.choice(REASONS),
                    rng.choice(DIAGNOSES),
                    received.strftime("%m/%d/%Y %H:%M"),
                ]
            )


def copy_raw(path: Path) -> float:
    """COPY the same file into a plain table of text columns: what PostgreSQL can take at best."""
    columns = ", ".join(f'"{h}" text' for h in HEADER)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_import_staging")
        cursor.execute(f"CREATE TABLE bench_import_staging ({columns})")
        started = time.perf_counter()
        with (
            cursor.cursor.copy(
                "COPY bench_import_staging FROM STDIN WITH (FORMAT csv, HEADER)"
            ) as copy,
            path.open("rb") as handle,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        connection.commit() if not connection.get_autocommit() else None
        seconds = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM bench_import_staging")
        copied = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_import_staging")
    return seconds, copied


# The tables an import writes, parents first: referral rows name their patient, the rest their
# referral.
FLOOR_TABLES = (
    "directory_patient",
    "referrals_referral",
    "referrals_referralevent",
    "referrals_checklistitem",
    "referrals_referralblocker",
    "referrals_referralclock",
)


def autovacuum_hold(*, held: bool) -> None:
    """Autovacuum off on the tables an import writes, for the bench: the server's CPU is summed
    over all its processes (the import's writer has a backend of its own), and a vacuum of
    tables grown by a million rows, started by whichever import came first, would be counted
    against the next. It is the server's later upkeep, not the import's cost per row."""
    tables = (*FLOOR_TABLES, "directory_coverage", "files_quarantinedrow")
    with connection.cursor() as cursor:
        for table in tables:
            if held:
                cursor.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
            else:
                cursor.execute(f"ALTER TABLE {table} RESET (autovacuum_enabled)")


def tops() -> dict[str, int]:
    """The highest id of each table written by an import (to find what a run made)."""
    with connection.cursor() as cursor:
        return {
            table: cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
            for table in FLOOR_TABLES
        }


def write_floor(before: dict[str, int], chunk: int, *, keys: bool = True) -> tuple[float, int]:
    """What storing the import's rows costs PostgreSQL alone, whatever computes them: the rows
    the run made, written again by the server (INSERT ... SELECT, no Python per row) into empty
    copies of their tables with the same indexes, checks and deferred foreign keys, `chunk`
    referrals per transaction as the import commits them. Returns (seconds, referrals).
    keys=False leaves the foreign keys out: the difference is what their checks cost."""
    floor = {table: f"bench_floor_{table}" for table in FLOOR_TABLES}
    with connection.cursor() as cursor:
        for table, copy in floor.items():
            cursor.execute(f"DROP TABLE IF EXISTS {copy} CASCADE")
            cursor.execute(f"CREATE TABLE {copy} (LIKE {table} INCLUDING ALL)")
            cursor.execute(f"ALTER TABLE {copy} SET (autovacuum_enabled = false)")  # as the import
        for table, copy in floor.items():
            if not keys:
                break
            constraints = cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f'",
                [table],
            ).fetchall()
            for name, definition in constraints:
                for parent in ("directory_patient", "referrals_referral"):
                    definition = definition.replace(
                        f"REFERENCES {parent}(", f"REFERENCES {floor[parent]}("
                    )
                cursor.execute(f"ALTER TABLE {copy} ADD CONSTRAINT {name}_f {definition}")
        ids = [
            row[0]
            for row in cursor.execute(
                "SELECT id FROM referrals_referral WHERE id > %s ORDER BY id",
                [before["referrals_referral"]],
            ).fetchall()
        ]
    started = time.perf_counter()
    for start in range(0, len(ids), chunk):
        low, high = ids[start], ids[min(start + chunk, len(ids)) - 1]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {floor['directory_patient']} SELECT * FROM directory_patient "
                "WHERE id > %s AND id IN (SELECT patient_id FROM referrals_referral "
                "WHERE id BETWEEN %s AND %s) ON CONFLICT (id) DO NOTHING",
                [before["directory_patient"], low, high],
            )
            cursor.execute(
                f"INSERT INTO {floor['referrals_referral']} SELECT * FROM referrals_referral "
                "WHERE id BETWEEN %s AND %s",
                [low, high],
            )
            for table in FLOOR_TABLES[2:]:
                cursor.execute(
                    f"INSERT INTO {floor[table]} SELECT * FROM {table} "
                    "WHERE referral_id BETWEEN %s AND %s",
                    [low, high],
                )
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        for copy in reversed(floor.values()):
            cursor.execute(f"DROP TABLE {copy} CASCADE")
    return seconds, len(ids)


def cpu_seconds() -> tuple[float, float | None]:
    """CPU seconds used so far by this process (all its threads) and by the PostgreSQL server's
    client backends (None when the server's /proc is not ours to read): the live ones, plus the
    backends that ended (the import's writer thread has a backend of its own, closed at the
    end), as the postmaster's reaped children. The server's background processes (checkpointer,
    writers, autovacuum launcher) are left out: a checkpoint falls in whichever step runs then.
    The cluster must be this bench's alone. On a shared machine the wall clock says how busy
    the others were; the CPU says what the work cost."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    ours = usage.ru_utime + usage.ru_stime
    with connection.cursor() as cursor:
        backend = cursor.execute("SELECT pg_backend_pid()").fetchone()[0]
    try:
        postmaster = int(_stat(backend)[1])
        fields = _stat(postmaster)
    except OSError:
        return ours, None
    ticks = int(fields[13]) + int(fields[14])  # its ended children's time
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            child = _stat(int(entry.name))
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # ended meanwhile
        if int(child[1]) == postmaster and not title.startswith(BACKGROUND):
            ticks += int(child[11]) + int(child[12])
    return ours, ticks / os.sysconf("SC_CLK_TCK")


BACKGROUND = tuple(
    f"postgres: {name}"
    for name in ("checkpointer", "background writer", "walwriter", "autovacuum launcher",
                 "logical replication launcher", "stats collector", "archiver")
)  # fmt: skip


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name: [state, ppid, ...]; utime is [11]."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_used(before, after) -> dict:
    python = after[0] - before[0]
    server = None if after[1] is None else after[1] - before[1]
    return {"python": round(python, 2), "postgres": None if server is None else round(server, 2)}


def _import_result(run: ImportRun, seconds: float, cpu: dict) -> dict:
    return {
        "rows": run.rows_done,
        "seconds": round(seconds, 2),
        "rows_per_second": round(run.rows_done / seconds),
        "created": run.created,
        "duplicate": run.duplicate,
        "quarantined": run.quarantined,
        "status": run.status,
        "cpu_seconds": cpu,
        "cpu_us_per_row": {
            "python": _per_row(cpu["python"], run.rows_done),
            "postgres": _per_row(cpu["postgres"], run.rows_done),
        },
    }


def _per_row(seconds: float | None, rows: int) -> float | None:
    return None if seconds is None or not rows else round(seconds / rows * 1e6, 1)


def import_through_bulk(path: Path, chunk: int, *, overlap: bool) -> tuple[float, ImportRun]:
    source, _ = ImportSource.objects.get_or_create(
        name="Bench export",
        defaults={
            "mapping": {
                "columns": {
                    "sender_reference": "RefID",
                    "patient_first_name": "First",
                    "patient_last_name": "Last",
                    "patient_birth_date": "DOB",
                    "patient_mrn": "MRN",
                    "referrer_npi": "Referring NPI",
                    "referrer_name": "Referring Provider",
                    "service_line": "Specialty",
                    "priority": "Urgency",
                    "reason": "Reason",
                    "diagnoses": "Dx",
                    "received_at": "Referral Date",
                },
                "values": {"priority": {"Normal": "routine", "Urgent": "urgent", "STAT": "stat"}},
                "date_formats": ["%m/%d/%Y"],
                "datetime_formats": ["%m/%d/%Y %H:%M"],
            }
        },
    )
    run = ImportRun.objects.create(
        source=source,
        file=f"imports/{path.name}",
        file_format="csv",
        sha256="bench",
        size=path.stat().st_size,
    )
    started = time.perf_counter()
    run = import_run_process(run_id=run.pk, chunk_size=chunk, overlap=overlap)
    return time.perf_counter() - started, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=5000, help="rows per transaction")
    parser.add_argument("--seed", type=int, default=None, help="default: a new one each run")
    parser.add_argument(
        "--serial-too",
        action="store_true",
        help="also import as many other rows one chunk after the other (no overlap), first",
    )
    parser.add_argument(
        "--overlap",
        action="store_true",
        help="the import writes chunk N while it reads chunk N+1 (off by default, as in the app)",
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("This benchmark measures PostgreSQL: set DATABASE_URL=postgres://...")
    # The file is written where uploads are kept, and the run names it there (import_start
    # would copy an upload into storage first); it is deleted at the end.
    from django.conf import settings

    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench-{os.getpid()}.csv"
    serial_path = folder / f"bench-{os.getpid()}-serial.csv"
    stamp = int(time.time())
    autovacuum_hold(held=True)
    try:
        generated = time.perf_counter()
        csv_write(path, args.rows, args.seed, stamp)
        generated = time.perf_counter() - generated
        file_mb = round(path.stat().st_size / 1e6, 1)
        copy_seconds, copied = copy_raw(path)
        serial = None
        if args.serial_too:
            # The same number of other rows (other people, other references), one chunk after
            # the other: what the overlap gains, measured in this run.
            csv_write(serial_path, args.rows, None if args.seed is None else args.seed + 1,
                      stamp + 1)  # fmt: skip
            cpu = cpu_seconds()
            serial_seconds, serial_run = import_through_bulk(serial_path, args.chunk,
                                                             overlap=False)  # fmt: skip
            serial = _import_result(serial_run, serial_seconds, cpu_used(cpu, cpu_seconds()))
        before = tops()
        cpu = cpu_seconds()
        import_seconds, run = import_through_bulk(path, args.chunk, overlap=args.overlap)
        import_cpu, cpu = cpu_used(cpu, cpu_seconds()), cpu_seconds()
        floor_seconds, floor_rows = write_floor(before, args.chunk)
        floor_cpu, cpu = cpu_used(cpu, cpu_seconds()), cpu_seconds()
        bare_seconds, _ = write_floor(before, args.chunk, keys=False)
        bare_cpu = cpu_used(cpu, cpu_seconds())
    finally:
        path.unlink(missing_ok=True)
        serial_path.unlink(missing_ok=True)
        autovacuum_hold(held=False)
    result = {
        "rows": args.rows,
        "file_mb": file_mb,
        "generate_seconds": round(generated, 1),
        "copy": {
            "rows": copied,
            "seconds": round(copy_seconds, 2),
            "rows_per_second": round(copied / copy_seconds),
        },  # fmt: skip
        "import": {
            **_import_result(run, import_seconds, import_cpu),
            "chunk": args.chunk,
            "overlap": args.overlap,
        },
        "import_one_chunk_at_a_time": serial,
        "write_floor": {
            "referrals": floor_rows,
            "seconds": round(floor_seconds, 2),
            "rows_per_second": round(floor_rows / floor_seconds),
            "cpu_seconds": floor_cpu,
        },
        "write_floor_without_foreign_keys": {
            "seconds": round(bare_seconds, 2),
            "rows_per_second": round(floor_rows / bare_seconds),
            "cpu_seconds": bare_cpu,
        },
        "floor_to_import_ratio": round(
            (floor_rows / floor_seconds) / (run.rows_done / import_seconds), 2
        ),
        "copy_to_import_ratio": round(
            (copied / copy_seconds) / (run.rows_done / import_seconds), 1
        ),
        "cpu_us_per_row": {
            "import_python": _per_row(import_cpu["python"], run.rows_done),
            "import_postgres": _per_row(import_cpu["postgres"], run.rows_done),
            "write_floor_postgres": _per_row(floor_cpu["postgres"], floor_rows),
            "write_floor_without_foreign_keys_postgres": _per_row(bare_cpu["postgres"], floor_rows),
        },
        "goal_rows_per_second": 10_000,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    result["goal_met"] = result["import"]["rows_per_second"] >= 10_000
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
