"""`manage.py refloop_outbound FILE [--column order_id="Order #" ...]`: import the health
system's outbound specialist orders (CSV, Excel or Parquet) for leakage outside the network."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from refloop.analytics.outbound import FIELDS
from refloop.analytics.services import outbound_import
from refloop.core.errors import DomainError


class Command(BaseCommand):
    help = "Import outbound specialist orders (leakage outside the network)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--column", action="append", default=[], metavar='FIELD="Their column"',
            help=f"our fields: {', '.join(FIELDS)}",
        )  # fmt: skip

    def handle(self, *args, file, column, **options):
        columns = {}
        for pair in column:
            field, _, theirs = pair.partition("=")
            if field not in FIELDS or not theirs:
                raise CommandError(f"--column {pair!r}: write FIELD=Their column ({FIELDS}).")
            columns[field] = theirs.strip().strip('"')
        try:
            result = outbound_import(path=Path(file), columns=columns)
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"{result.orders} orders imported.")
        if result.quarantined:
            self.stdout.write(
                f"{result.quarantined} rows left out, with their reasons, in {result.quarantine}."
            )
