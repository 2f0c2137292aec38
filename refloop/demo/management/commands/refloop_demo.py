from django.core.management.base import BaseCommand, CommandError

from refloop.demo.loader import DEFAULT_REFERRALS, DEFAULT_SEED, demo_load
from refloop.demo.logins import demo_logins_print
from refloop.referrals.models import Referral


class Command(BaseCommand):
    help = (
        "Load the synthetic demo program (6 service lines, ~120 practices, 400 referrers, "
        f"{DEFAULT_REFERRALS:,} referrals over 24 months ending today) and the demo logins."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale",
            type=float,
            default=1.0,
            help=f"Multiply the {DEFAULT_REFERRALS:,} referrals (40 = 1,000,000).",
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Same seed, same data.")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already has referrals.",
        )

    def handle(self, *args, scale, seed, if_empty, **options):
        if scale <= 0:
            raise CommandError("--scale must be greater than 0.")
        if Referral.objects.exists():
            if if_empty:
                self.stdout.write("Referrals already loaded; demo data left as it is.")
                return
            raise CommandError(
                "This database already has referrals. Load the demo into an empty database "
                "(or pass --if-empty to skip quietly)."
            )
        total = round(DEFAULT_REFERRALS * scale)
        self.stdout.write(
            f"Loading the synthetic demo program: {total:,} referrals, seed {seed}..."
        )

        def progress(done, total):
            if total >= 100_000 and done % 50_000 < 2000:
                self.stdout.write(f"  {done:,} / {total:,}")

        summary = demo_load(scale=scale, seed=seed, progress=progress)
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {summary.referrals:,} referrals, {summary.events:,} events and "
                f"{summary.patients:,} synthetic patients in {summary.seconds:.1f} s."
            )
        )
        self.stdout.write("Arrived today by every way in:")
        for line in summary.channels:
            self.stdout.write(f"  {line}")
        demo_logins_print(self.stdout)
