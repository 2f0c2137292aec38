"""`manage.py refloop_review --month 2026-10 [--email a@b,c@d] [--out DIR]`: the monthly review
of the app's facts, written as HTML and PDF and, if asked, e-mailed (the PDF and the charts)."""

import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refloop.analytics.review import review_html, review_pdf
from refloop.analytics.review_services import review_email_send, review_month
from refloop.analytics.scope import month_before


class Command(BaseCommand):
    help = "Write (and e-mail) the monthly review of a month."

    def add_arguments(self, parser):
        parser.add_argument("--month", help="YYYY-MM (default: last month)")
        parser.add_argument("--email", default="", help="addresses, separated by commas")
        parser.add_argument("--out", default=".", help="directory for the HTML and PDF")

    def handle(self, *args, month, email, out, **options):
        first = _month(month)
        review = review_month(month=first)
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / f"review-{first:%Y-%m}"
        stem.with_suffix(".html").write_text(review_html(review), encoding="utf-8")
        stem.with_suffix(".pdf").write_bytes(review_pdf(review))
        self.stdout.write(f"{review.title}: wrote {stem}.html and {stem}.pdf")
        for row in review.table("headline").rows:
            self.stdout.write(f"  {row.cells[0]}: {row.cells[1]} (last month {row.cells[2]})")
        recipients = [a.strip() for a in email.split(",") if a.strip()]
        if recipients:
            sent = review_email_send(review=review, recipients=recipients)
            self.stdout.write(f"E-mailed to {sent} recipient(s).")


def _month(text: str | None) -> dt.date:
    if not text:
        return month_before(timezone.localdate())
    try:
        return dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise CommandError(f"--month {text!r}: write it as YYYY-MM (2026-10).") from None
