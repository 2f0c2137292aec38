"""`manage.py refloop_program [--out program.json]`: the program's targets, goals and closed days
as the JSON file `refloop audit --program` reads, so an audit of Refloop's own export judges the
clocks as the app does."""

import json

from django.core.management.base import BaseCommand

from refloop.analytics.review_services import program_document


class Command(BaseCommand):
    help = "Write the program (targets, goals, closures) for refloop audit --program."

    def add_arguments(self, parser):
        parser.add_argument("--out", default="", help="a file (default: standard output)")

    def handle(self, *args, out, **options):
        text = json.dumps(program_document(), indent=1)
        if out:
            with open(out, "w", encoding="utf-8") as file:
                file.write(text + "\n")
        else:
            self.stdout.write(text)
