"""Listen for HL7 v2 over MLLP until interrupted.

One process answers from a pool of worker threads (the ORM is synchronous); `--processes N`
starts N processes on the same port (SO_REUSEPORT: the kernel spreads the connections) when one
core is not enough.
"""

import argparse
import asyncio
import contextlib
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from refloop.interop.hl7v2.mllp import listener_serve


class Command(BaseCommand):
    help = "Receive HL7 v2 messages over MLLP (REF, SIU, ADT), acknowledging each."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.REFLOOP_HL7_HOST)
        parser.add_argument("--port", type=int, default=settings.REFLOOP_HL7_PORT)
        parser.add_argument("--workers", type=int, default=16, help="Threads per process.")
        parser.add_argument("--processes", type=int, default=1)
        parser.add_argument("--shared", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, host, port, workers, processes, shared, **options):
        command = [sys.executable, sys.argv[0], "refloop_hl7_listener", "--host", host]
        others = [
            subprocess.Popen([*command, "--port", str(port), "--workers", str(workers), "--shared"])
            for _ in range(processes - 1)
        ]
        if not shared:
            self.stdout.write(
                f"HL7 v2 listener (MLLP) on {host}:{port}, {processes} process(es)  "
                "(Ctrl-C stops it)"
            )
        reuse_port = shared or processes > 1
        signal.signal(signal.SIGTERM, _interrupt)  # refloop_run stops us with SIGTERM
        try:
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(
                    listener_serve(host=host, port=port, workers=workers, reuse_port=reuse_port)
                )
        finally:
            for other in others:
                other.terminate()
            for other in others:
                other.wait(10)


def _interrupt(*_):
    raise KeyboardInterrupt
