"""Listen for HL7 v2 over MLLP until interrupted."""

import asyncio
import contextlib

from django.conf import settings
from django.core.management.base import BaseCommand

from refloop.interop.hl7v2.mllp import listener_serve


class Command(BaseCommand):
    help = "Receive HL7 v2 messages over MLLP (REF, SIU, ADT), acknowledging each."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.REFLOOP_HL7_HOST)
        parser.add_argument("--port", type=int, default=settings.REFLOOP_HL7_PORT)

    def handle(self, *args, host, port, **options):
        self.stdout.write(f"HL7 v2 listener (MLLP) on {host}:{port}  (Ctrl-C stops it)")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(listener_serve(host=host, port=port))
