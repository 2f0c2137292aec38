"""The monthly review in the app: built from the fact table, sent by e-mail to a list.

Recipients and the headline's goals are settings (REFLOOP_REVIEW_RECIPIENTS, comma-separated
addresses; REFLOOP_REVIEW_GOALS, headline key -> goal). The e-mail carries the review as a PDF
and its charts as PNG: aggregates only, never a patient; its subject names the month only.
Plain e-mail is fit for it (DESIGN.md, Privacy: no PHI leaves this way).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.utils import timezone

from refloop.analytics.metrics.pilot import Pilot, pilot_parse
from refloop.analytics.review import Review, review_build, review_pdf, review_window
from refloop.analytics.scope import month_after

# Goals the headline is held against when the setting gives none (metrics.headline keys).
DEFAULT_GOALS = {
    "acknowledged_within_target": 0.9,
    "report_within_target": 0.9,
    "report_delivered_within": 0.8,
}


def review_goals() -> dict[str, float]:
    return dict(getattr(settings, "REFLOOP_REVIEW_GOALS", None) or DEFAULT_GOALS)


def review_recipients() -> list[str]:
    configured = getattr(settings, "REFLOOP_REVIEW_RECIPIENTS", "") or ""
    if isinstance(configured, str):
        configured = configured.split(",")
    return [address.strip() for address in configured if address.strip()]


def review_month(*, month: dt.date, now: dt.datetime | None = None) -> Review:
    """The review of `month` from the app's fact table (kept current by the scheduler)."""
    from refloop.analytics.appointments import appointments_frame, tna_frame
    from refloop.analytics.queries import facts_frame

    tz = ZoneInfo(settings.TIME_ZONE)
    now = now or timezone.now()
    first = month.replace(day=1)
    end = month_after(first)
    start_at = dt.datetime.combine(first, dt.time.min, tz)
    end_at = min(now, dt.datetime.combine(end, dt.time.min, tz))
    pilot = review_pilot()
    # A pilot's baseline may reach back past the review's window: then the review reads it all.
    facts = facts_frame() if pilot else facts_frame(active_since=review_window(first))
    return review_build(
        facts,
        month=first,
        targets=review_goals(),
        tz=tz,
        as_of=now,
        organization=settings.REFLOOP_PRACTICE_NAME,
        # The month's visits due by its end (no-shows) and its third-next-available days.
        appointments=appointments_frame(start=start_at, end=max(start_at, end_at)),
        tna=tna_frame(start=first, end=end),
        pilot=pilot,
    )


def review_pilot() -> Pilot | None:
    """The pilot the review compares (settings.REFLOOP_REVIEW_PILOT), if one is set."""
    raw = getattr(settings, "REFLOOP_REVIEW_PILOT", None)
    if not raw:
        return None
    try:
        return pilot_parse(raw)
    except ValueError as error:
        raise ImproperlyConfigured(f"REFLOOP_REVIEW_PILOT: {error}") from None


def review_email_send(*, review: Review, recipients: list[str]) -> int:
    """One message to the list (each address sees only its own); returns how many were sent."""
    if not recipients:
        return 0
    email = EmailMessage(
        subject=review.title,  # "Monthly review: October 2026": no PHI in a subject
        body=review_text(review),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[settings.DEFAULT_FROM_EMAIL],
        bcc=recipients,
    )
    email.attach(f"review-{review.month:%Y-%m}.pdf", review_pdf(review), "application/pdf")
    for figure in review.figures:
        email.attach(f"{figure.key}-{review.month:%Y-%m}.png", figure.scene.png(), "image/png")
    email.send()
    return len(recipients)


def review_text(review: Review) -> str:
    """The e-mail's body: the headline as plain text (the PDF has the rest)."""
    lines = [review.title, review.organization, ""]
    for row in review.table("headline").rows:
        label, this, last, change, target, status = row.cells
        line = f"{label}: {this} (last month {last}, {change})"
        if target:
            line += f"; target {target}, {status}"
        lines.append(line)
    lines += ["", "The full review is attached as a PDF, with its charts as pictures."]
    return "\n".join(lines)


def program_document() -> dict:
    """The program as `refloop audit --program` reads it (analytics.audit.program): the service
    lines' targets, the review's goals and the practice's closed days. No patient data."""
    from refloop.analytics.sources import targets_frame
    from refloop.core.models import Closure

    targets = [
        {
            "service_line": row["service_line"],
            "priority": row["priority"],
            "kind": row["kind"],
            "amount": row["seconds"] / (86400 if row["unit"] == "calendar_days" else 3600),
            "unit": row["unit"],
        }
        for row in targets_frame().to_dicts()
    ]
    closures = sorted(d.isoformat() for d in Closure.objects.values_list("date", flat=True))
    document = {"targets": targets, "goals": review_goals(), "closures": closures}
    if getattr(settings, "REFLOOP_REVIEW_PILOT", None):
        document["pilot"] = settings.REFLOOP_REVIEW_PILOT
    return document
