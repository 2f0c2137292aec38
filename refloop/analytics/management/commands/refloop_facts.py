"""`manage.py refloop_facts`: rebuild the fact table from the referral tables and set the
scheduler's cursor past the events it was built from. Run it after an import of past referrals,
after changing targets or closures (they change past judgements), or once after installing; the
scheduler (analytics.jobs) keeps the table current from then on."""

from django.core.management.base import BaseCommand

from refloop.analytics.jobs import facts_load


class Command(BaseCommand):
    help = "Rebuild every referral's facts (the fact table every metric reads)."

    def handle(self, *args, **options):
        def progress(done: int, total: int) -> None:
            self.stdout.write(f"  {done:,} of {total:,} referrals")

        written = facts_load(progress=progress)
        self.stdout.write(self.style.SUCCESS(f"Facts rebuilt for {written:,} referrals."))
