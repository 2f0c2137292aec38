"""TCPA and common sense for texts to patients, as pure functions of the facts passed in.

- Content (checked when a text is queued): under 160 characters, names the practice, never names
  a clinical service (a text on a lock screen must not tell anyone what the patient is seen for).
- Consent (checked when it is sent): no text without `sms_consent`, none after STOP.
- Limits (when it is sent): at most one automated text in any 24 hours and three in any rolling
  7 days per patient, reminders, instructions and waitlist offers counted together. "A day" is
  read as 24 hours rather than the calendar day, so that 20:55 and 08:00 the next morning are not
  both allowed.
- Quiet hours (when it is sent): only 08:00 to 21:00 in the patient's time zone.

A text kept back by the limits or the hour is deferred to the first moment every rule allows, not
dropped; it is suppressed only when that moment is after it stops being useful (`expires_at`).
Answers to a text the patient just sent (STOP, HELP) are not counted and go at once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from refloop.messaging.enums import COUNTED_PURPOSES, REPLY_PURPOSES

SMS_MAX_CHARS = 160  # a text must stay *under* this: one segment, nothing cut off
DAY_LIMIT = 1
WEEK_LIMIT = 3
DAY = dt.timedelta(hours=24)
WEEK = dt.timedelta(days=7)
QUIET_ENDS = dt.time(8, 0)  # the first minute a text may go, local time
QUIET_STARTS = 21  # from 21:00 local time nothing goes until the next morning


# Content --------------------------------------------------------------------------------------


def sms_content_problems(
    body: str, *, practice_name: str, clinical_words: Iterable[str]
) -> list[str]:
    """What is wrong with the text of a text message (empty: nothing)."""
    problems = []
    if len(body) >= SMS_MAX_CHARS:
        problems.append(f"A text must be under {SMS_MAX_CHARS} characters (this has {len(body)}).")
    if practice_name.casefold() not in body.casefold():
        problems.append(f"A text must name the practice ({practice_name}).")
    # The practice's own name may contain a clinical word ("Riverside Cardiology"): not counted.
    rest = re.sub(re.escape(practice_name), " ", body, flags=re.IGNORECASE)
    named = [w for w in clinical_words if w.strip() and _names(rest, w)]
    if named:
        problems.append(
            "A text must not name a clinical service (it names " + ", ".join(sorted(named)) + ")."
        )
    return problems


def _names(text: str, word: str) -> bool:
    pattern = r"(?<![\w])" + r"\s+".join(map(re.escape, word.split())) + r"(?![\w])"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None


# Consent, limits and quiet hours --------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    action: str  # "send", "defer" or "suppress"
    reason: str = ""
    not_before: dt.datetime | None = None  # for "defer"


SEND = Decision("send")


def patient_zone(time_zone: str, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(time_zone or default)
    except (ZoneInfoNotFoundError, ValueError):
        # A mistyped zone must not stop the practice's texts: its own zone is the best guess.
        return ZoneInfo(default)


def quiet_hours_end(at: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """`at` if a text may go then, else the next 08:00 in `zone`."""
    local = at.astimezone(zone)
    if QUIET_ENDS.hour <= local.hour < QUIET_STARTS:
        return at
    day = local.date() if local.hour < QUIET_ENDS.hour else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, QUIET_ENDS, tzinfo=zone).astimezone(dt.UTC)


def limits_end(at: dt.datetime, sent: Sequence[dt.datetime]) -> tuple[dt.datetime, str]:
    """`at` if one more counted text is within the limits then, else the first moment it is;
    with the limit that held it back. `sent`: when the earlier counted texts went (or, for ones
    being sent right now, now)."""
    allowed, reason = at, ""
    recent = sorted(sent)
    if len(recent) >= DAY_LIMIT and recent[-DAY_LIMIT] + DAY > allowed:
        allowed, reason = recent[-DAY_LIMIT] + DAY, "one automated text a day"
    if len(recent) >= WEEK_LIMIT and recent[-WEEK_LIMIT] + WEEK > allowed:
        allowed, reason = recent[-WEEK_LIMIT] + WEEK, "three automated texts in 7 days"
    return allowed, reason


def sms_decision(
    *,
    purpose: str,
    now: dt.datetime,
    expires_at: dt.datetime | None,
    has_patient: bool,
    consent: bool,
    opted_out_at: dt.datetime | None,
    zone: ZoneInfo,
    sent: Sequence[dt.datetime],
) -> Decision:
    """Whether a text goes now, later (when) or never (why)."""
    if purpose in REPLY_PURPOSES:
        return SEND
    if not has_patient:
        return Decision("suppress", "no patient on the message, so no consent on record")
    if opted_out_at is not None:
        return Decision("suppress", f"patient opted out of texts on {opted_out_at:%Y-%m-%d}")
    if not consent:
        return Decision("suppress", "no consent to texts on record")
    moment, reason = now, ""
    if purpose in COUNTED_PURPOSES:
        moment, reason = limits_end(now, sent)
    after_quiet = quiet_hours_end(moment, zone)
    if after_quiet != moment:
        moment, reason = after_quiet, reason or "quiet hours (08:00-21:00 patient's time)"
    if moment == now:
        return SEND
    local = moment.astimezone(zone)
    if expires_at is not None and moment >= expires_at:
        return Decision("suppress", f"{reason}: could not go before it expired")
    return Decision("defer", f"{reason}: deferred to {local:%Y-%m-%d %H:%M %Z}", moment)


# Inbound keywords -----------------------------------------------------------------------------

STOP_WORDS = frozenset(
    {"stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "optout", "opt out"}
    | {"revoke", "stop it", "stop now", "unsub"}
)
START_WORDS = frozenset({"start", "unstop", "opt in", "optin", "start again", "resume"})
HELP_WORDS = frozenset({"help", "info"})
# Politeness around a keyword ("please stop", "STOP, thank you!") changes nothing.
FILLER = frozenset({"please", "pls", "plz", "thanks", "thank", "you", "thx", "ty", "sorry", "ok"})
STOP_PHRASES = (
    re.compile(r"\b(stop|quit|cease)\s+(all\s+)?(texting|txting|messaging|sending|contacting)\b"),
    re.compile(r"\b(stop|no)\s+(the\s+|these\s+|your\s+)?(texts|text messages|sms|messages)\b"),
    re.compile(r"\b(dont|do not|never)\s+(ever\s+)?(text|txt|sms|message|contact)\b"),
    re.compile(r"\bno more\s+(texts?|txts?|text messages|messages|sms)\b"),
    re.compile(r"\bunsubscribe\b"),
    re.compile(r"\bopt\s?out\b"),
    re.compile(r"\b(remove|take)\s+(me|my number)\s+(off|from)\b"),
)


def inbound_normalise(body: str) -> str:
    text = body.casefold().replace("\u2019", "").replace("'", "")
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def inbound_keyword(body: str) -> str:
    """ "stop", "start", "help" or "" for an inbound text, however it is put."""
    text = inbound_normalise(body)
    core = " ".join(w for w in text.split() if w not in FILLER)
    if core in STOP_WORDS or any(p.search(text) for p in STOP_PHRASES):
        return "stop"
    if core in START_WORDS:
        return "start"
    if core in HELP_WORDS:
        return "help"
    return ""
