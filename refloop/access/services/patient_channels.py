"""Reaching a patient: the channels they agreed to, their local time, texts that fit.

Texts name the practice, never the clinical service, and stay under 160 characters (one SMS
segment). Whether a queued text may go out now (quiet hours, daily limits) is decided when it is
sent, by messaging; here we only choose what to queue.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings

from refloop.messaging.enums import MessageChannel
from refloop.messaging.rules import patient_zone as zone_or_default

SMS_LIMIT = 160


def patient_channels(patient) -> list[str]:
    """SMS and e-mail the patient consented to and can be reached on (a STOP outranks consent)."""
    channels = []
    if patient.sms_consent and patient.phone and not patient.sms_opted_out_at:
        channels.append(MessageChannel.SMS)
    if patient.email_consent and patient.email:
        channels.append(MessageChannel.EMAIL)
    return channels


def patient_zone(patient) -> ZoneInfo:
    """The patient's time zone, as messaging's quiet hours judge it."""
    return zone_or_default(patient.time_zone, settings.TIME_ZONE)


def visit_when_short(at: dt.datetime, zone: ZoneInfo) -> str:
    """ "Tue Dec 8 9:30 AM": short enough for a text."""
    return at.astimezone(zone).strftime("%a %b %-d %-I:%M %p")


def visit_when_long(at: dt.datetime, zone: ZoneInfo) -> str:
    """ "Tuesday, December 8, 2026 at 9:30 AM": for e-mails, letters and pages."""
    return at.astimezone(zone).strftime("%A, %B %-d, %Y at %-I:%M %p")


def sms_text(message: str) -> str:
    """ "<Practice>: <message>". The name is never cut (every text must name the practice): the
    `texts_fit` system check refuses, at start-up, a practice name and base URL too long for the
    longest text we send."""
    return f"{settings.REFLOOP_PRACTICE_NAME}: {message}"


# The texts patients get, with the longest date they can show and a link: the system check
# (access.checks) makes sure each one fits one segment with this practice's name and base URL.
SMS_TEMPLATES = (
    "your visit is {when}. Details: {link}",
    "your visit is {when}. Confirm or change: {link}",
    "earlier visit open {when}. Take it: {link}",
)
LONGEST_WHEN = "Wed Sep 30 12:30 PM"


def email_subject(prefix: str = "Your appointment") -> str:
    # Subjects carry no PHI: no service, no name, no date.
    return f"{prefix} with {settings.REFLOOP_PRACTICE_NAME}"


def email_footer() -> str:
    return (
        f"\n\nQuestions? Call {settings.REFLOOP_PRACTICE_NAME} at "
        f"{settings.REFLOOP_PRACTICE_PHONE}.\n"
    )
