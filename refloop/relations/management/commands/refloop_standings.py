"""`manage.py refloop_standings`: recompute every referrer's standing now (the scheduler does it
once a day: relations.jobs). Run it after `refloop_facts` or a change of territories."""

import time

from django.core.management.base import BaseCommand

from refloop.relations.services import standings_refresh


class Command(BaseCommand):
    help = "Recompute the referrers' standings (segments, trends, drop-offs, scores)."

    def handle(self, *args, **options):
        started = time.perf_counter()
        count = standings_refresh()
        seconds = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(f"Standings refreshed for {count:,} referrers in {seconds:.1f} s.")
        )
