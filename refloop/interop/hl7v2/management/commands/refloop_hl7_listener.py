"""Listen for HL7 v2 over MLLP until interrupted.

One process, its messages handled by a pool of worker threads (the ORM is synchronous): enough for
development and a light feed. `--processes N` hands each message to the first free of N worker
processes instead (the listener's own process only reads and writes the sockets): in production on
PostgreSQL, where one process's threads share one core's worth of Python.
"""

import asyncio
import contextlib
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from refloop.interop.hl7v2.mllp import listener_serve


class Command(BaseCommand):
    help = "Receive HL7 v2 messages over MLLP (REF, SIU, ADT), acknowledging each."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.REFLOOP_HL7_HOST)
        parser.add_argument("--port", type=int, default=settings.REFLOOP_HL7_PORT)
        parser.add_argument(
            "--workers", type=int, default=16, help="Worker threads (with one process)."
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="Worker processes, one message at a time each (PostgreSQL; about 2 per core).",
        )

    def handle(self, *args, host, port, workers, processes, **options):
        self.stdout.write(
            f"HL7 v2 listener (MLLP) on {host}:{port}, "
            + (f"{processes} worker processes" if processes > 1 else f"{workers} worker threads")
            + "  (Ctrl-C stops it)"
        )
        signal.signal(signal.SIGTERM, _interrupt)  # refloop_run stops us with SIGTERM
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(listener_serve(host=host, port=port, workers=workers, processes=processes))


def _interrupt(*_):
    raise KeyboardInterrupt
