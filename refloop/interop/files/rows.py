"""One row of another system's file, read with its source's mapping: a ReferralSubmission and the
history the file tells (state changes and milestones with their times), or the reasons it cannot
be taken. Pure: no writes; the service lines come in as a lookup."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field

from django.utils import timezone

from refloop.core.text import NUL_SHOWN
from refloop.directory.models import Patient
from refloop.referrals.enums import (
    CancelReason,
    Channel,
    DeclineReason,
    Milestone,
    Priority,
    RedirectReason,
    State,
)
from refloop.referrals.services import PatientData, ReferralSubmission, ReferrerData

# Our fields, in the order the mapping form shows them: (name, label).
INTAKE_FIELDS = (
    ("sender_reference", "Their referral id (required)"),
    ("patient_first_name", "Patient first name"),
    ("patient_last_name", "Patient last name"),
    ("patient_birth_date", "Patient date of birth"),
    ("patient_sex", "Patient sex"),
    ("patient_mrn", "Patient MRN"),
    ("patient_phone", "Patient phone"),
    ("patient_email", "Patient e-mail"),
    ("patient_postal_code", "Patient postal code"),
    ("payer", "Payer"),
    ("plan", "Plan"),
    ("member_id", "Member id"),
    ("referrer_npi", "Referrer NPI"),
    ("referrer_name", "Referrer name"),
    ("referrer_organization", "Referring practice"),
    ("service_line", "Service line"),
    ("priority", "Priority"),
    ("reason", "Reason for referral"),
    ("diagnoses", "Diagnoses (ICD-10-CM, separated by ; or ,)"),
    ("received_at", "Received at"),
)
HISTORY_FIELDS = (
    ("state", "State now"),
    ("acknowledged_at", "Referrer acknowledged at"),
    ("triaged_at", "Triage started at"),
    ("accepted_at", "Accepted at"),
    ("declined_at", "Declined at"),
    ("decline_reason", "Decline reason"),
    ("redirected_at", "Redirected at"),
    ("redirect_reason", "Redirect reason"),
    ("first_contact_at", "First patient contact at"),
    ("scheduled_at", "Booked at"),
    ("appointment_at", "Appointment at"),
    ("seen_at", "Seen at"),
    ("no_show_at", "No-show at"),
    ("cancelled_at", "Cancelled at"),
    ("cancel_reason", "Cancel reason"),
    ("closed_at", "Closed at"),
)
FIELDS = INTAKE_FIELDS + HISTORY_FIELDS
# Fields whose values can be mapped from theirs to ours.
VALUE_FIELDS = (
    "service_line",
    "priority",
    "patient_sex",
    "state",
    "decline_reason",
    "cancel_reason",
    "redirect_reason",
)
DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y")
DEFAULT_DATETIME_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
                            "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p")  # fmt: skip
DIAGNOSIS_SPLIT = re.compile(r"[;,|\s]+")


@dataclass(frozen=True)
class Step:
    """One thing that happened to the referral in the other system, to replay through our
    services: a state change (`to_state`) or a milestone."""

    at: dt.datetime
    to_state: str = ""
    milestone: str = ""
    reason: str = ""
    appointment_at: dt.datetime | None = None
    time_from: str = ""  # the column the time was taken from, when not the step's own


@dataclass
class ParsedRow:
    submission: ReferralSubmission | None
    history: list[Step] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Mapping:
    """A source's mapping, ready to read rows with."""

    def __init__(self, mapping: dict, *, lines: dict[str, int], sender_system: str,
                 default_received_at: dt.datetime):  # fmt: skip
        self.columns: dict[str, str] = {k: v for k, v in mapping.get("columns", {}).items() if v}
        self.values = {
            name: {str(k).strip().lower(): str(v).strip() for k, v in pairs.items()}
            for name, pairs in mapping.get("values", {}).items()
        }
        self.date_formats = tuple(mapping.get("date_formats") or DEFAULT_DATE_FORMATS)
        self.datetime_formats = tuple(mapping.get("datetime_formats") or DEFAULT_DATETIME_FORMATS)
        self.lines = {k.lower(): v for k, v in lines.items()}  # code or name -> id
        self.sender_system = sender_system
        self.default_received_at = default_received_at
        self.history = any(name in self.columns for name, _ in HISTORY_FIELDS)
        # Times without a zone are the practice's (the zone in force when the run is read).
        self.tz = timezone.get_current_timezone()

    def problems(self, header: list[str]) -> list[str]:
        """What is wrong with the mapping for a file with this header (checked once per file)."""
        problems = []
        if "sender_reference" not in self.columns:
            problems.append("The mapping has no column for their referral id.")
        missing = [c for c in self.columns.values() if c not in header]
        if missing:
            problems.append(f"Columns not in the file: {', '.join(sorted(set(missing)))}.")
        return problems

    # -- one row --------------------------------------------------------------------------------

    def parse(self, raw: dict[str, str]) -> ParsedRow:
        reader = _Reader(self, raw)
        submission = reader.submission()
        history = reader.history(submission.received_at) if submission and self.history else []
        if reader.problems:
            return ParsedRow(None, [], reader.problems)
        return ParsedRow(submission, history)


class _Reader:
    def __init__(self, mapping: Mapping, raw: dict[str, str]):
        self.m = mapping
        self.raw = raw
        self.problems: list[str] = []
        # Each mapped column's text, stripped, once: a row asks for twenty of them.
        get = raw.get
        self.texts = {name: _cell(get(column)) for name, column in mapping.columns.items()}
        if NUL_SHOWN in "".join(self.texts.values()):
            self._refuse_nuls()

    def _refuse_nuls(self) -> None:
        for name, value in self.texts.items():
            if NUL_SHOWN in value:
                self.problems.append(
                    f"{_label(name)}: holds a NUL character (shown as {NUL_SHOWN}), "
                    "which is not text; correct or remove it."
                )

    def text(self, name: str) -> str:
        return self.texts.get(name, "")

    def mapped(self, name: str) -> str:
        value = self.text(name)
        return self.m.values.get(name, {}).get(value.lower(), value) if value else ""

    def date(self, name: str, *, required: bool = False) -> dt.date | None:
        value = self.text(name)
        if not value:
            if required:
                self.problems.append(f"{_label(name)}: missing.")
            return None
        parsed = _date_parsed(value, self.m.date_formats)
        if parsed is None:
            self.problems.append(f"{_label(name)}: '{value}' is not a date in a known format.")
        return parsed

    def moment(self, name: str) -> dt.datetime | None:
        value = self.text(name)
        if not value:
            return None
        parsed = _moment_parsed(value, self.m.datetime_formats + self.m.date_formats, self.m.tz)
        if parsed is None:
            self.problems.append(
                f"{_label(name)}: '{value}' is not a date and time in a known format."
            )
        elif parsed > timezone.now():
            self.problems.append(f"{_label(name)}: '{value}' is in the future.")
            return None
        return parsed

    def choice(self, name: str, choices, default: str = "") -> str:
        value = self.mapped(name)
        if not value:
            return default
        code = _codes(choices).get(value.lower())
        if code is not None:
            return code
        self.problems.append(
            f"{_label(name)}: '{self.text(name)}' is not one of ours "
            f"({', '.join(choices.values)}); map it in the source's value mapping."
        )
        return default

    def submission(self) -> ReferralSubmission | None:
        reference = self.text("sender_reference")
        if not reference:
            self.problems.append("Their referral id: missing (it recognises a resend).")
        line_id = None
        line = self.mapped("service_line")
        if not line:
            self.problems.append("Service line: missing.")
        else:
            line_id = self.m.lines.get(line.lower())
            if line_id is None:
                self.problems.append(
                    f"Service line: '{self.text('service_line')}' is not one of ours; "
                    "map it in the source's value mapping."
                )
        birth_date = self.date("patient_birth_date", required=True)
        first, last = self.text("patient_first_name"), self.text("patient_last_name")
        if not (first and last):
            self.problems.append("Patient name: first and last name are needed.")
        reason = self.text("reason")
        if not reason:
            self.problems.append("Reason for referral: missing.")
        priority = self.choice("priority", Priority, default=Priority.ROUTINE)
        sex = self.choice("patient_sex", Patient.Sex, default=Patient.Sex.UNKNOWN)
        received_at = self.moment("received_at") or self.m.default_received_at
        if self.problems:
            return None
        diagnoses = tuple(c for c in DIAGNOSIS_SPLIT.split(self.text("diagnoses")) if c)
        return ReferralSubmission(
            patient=PatientData(
                first_name=first,
                last_name=last,
                birth_date=birth_date,
                sex=sex,
                mrn=self.text("patient_mrn"),
                phone=self.text("patient_phone"),
                email=self.text("patient_email"),
                postal_code=self.text("patient_postal_code")[:10],
                payer=self.text("payer"),
                plan=self.text("plan"),
                member_id=self.text("member_id"),
            ),
            referrer=ReferrerData(
                npi=self.text("referrer_npi"),
                name=self.text("referrer_name"),
                organization_name=self.text("referrer_organization"),
            ),
            service_line_id=line_id,
            reason=reason,
            channel=Channel.FILE,
            priority=priority,
            diagnoses=diagnoses,
            sender_system=self.m.sender_system,
            sender_reference=reference[:120],
            received_at=received_at,
        )

    def history(self, received_at: dt.datetime) -> list[Step]:
        """The steps the file's columns tell, in order. A state passed on the way to a later one
        without a time of its own takes the next time the file gives (it cannot have happened
        later), and says which column that was."""
        times = {name: self.moment(name) for name, _ in HISTORY_FIELDS if name.endswith("_at")}
        state = self.choice("state", State)
        if times["closed_at"] or state == State.CLOSED:
            self.problems.append(
                "Closed at: a referral closes when its consult report is sent, and the file "
                "has no report. Clear closed_at (and a closed state) to import it as completed; "
                "then send the report from Refloop."
            )
            return []
        path = self._path(times, state)
        if path is None:
            return []
        steps = self._timed(path, times, received_at)
        for milestone, name in (
            (Milestone.ACKNOWLEDGED, "acknowledged_at"),
            (Milestone.FIRST_CONTACT, "first_contact_at"),
        ):
            at = times[name]
            if at and at < received_at:
                self.problems.append(f"{_label(name)}: before the referral was received.")
            elif at:
                steps.append(Step(at=at, milestone=milestone))
        # Milestones between the state changes, by time (a sort is stable: changes keep order).
        steps.sort(key=lambda step: step.at)
        return steps

    def _path(self, t: dict, state: str) -> list[tuple[str, str, str]] | None:
        """[(state, the column of its time, reason)] from received to the last state given."""
        path = []
        decided = t["accepted_at"] or t["declined_at"] or t["redirected_at"]
        booked = t["scheduled_at"] or t["appointment_at"] or t["seen_at"] or t["no_show_at"]
        wanted = state or ""
        if (
            t["triaged_at"]
            or decided
            or booked
            or wanted not in {"", State.RECEIVED, State.REDIRECTED}
        ):
            path.append((State.TRIAGE, "triaged_at", ""))  # fmt: skip
        if t["declined_at"] or wanted == State.DECLINED:
            reason = self.choice("decline_reason", DeclineReason)
            if not reason:
                self.problems.append("Decline reason: needed for a declined referral.")
            path.append((State.DECLINED, "declined_at", reason))
        elif t["redirected_at"] or wanted == State.REDIRECTED:
            reason = self.choice("redirect_reason", RedirectReason)
            if not reason:
                self.problems.append("Redirect reason: needed for a redirected referral.")
            path.append((State.REDIRECTED, "redirected_at", reason))
        elif (
            t["accepted_at"]
            or booked
            or wanted in {State.ACCEPTED, State.SCHEDULED, State.COMPLETED, State.NO_SHOW}
        ):
            path.append((State.ACCEPTED, "accepted_at", ""))  # fmt: skip
        if booked or wanted in {State.SCHEDULED, State.COMPLETED, State.NO_SHOW}:
            if not t["appointment_at"]:
                self.problems.append("Appointment at: needed for a booked referral.")
            path.append((State.SCHEDULED, "scheduled_at", ""))
            if t["seen_at"] or wanted == State.COMPLETED:
                path.append((State.COMPLETED, "seen_at", ""))
            elif t["no_show_at"] or wanted == State.NO_SHOW:
                path.append((State.NO_SHOW, "no_show_at", ""))
        if t["cancelled_at"] or wanted == State.CANCELLED:
            reason = self.choice("cancel_reason", CancelReason)
            if not reason:
                self.problems.append("Cancel reason: needed for a cancelled referral.")
            if path and path[-1][0] in {State.COMPLETED, State.DECLINED, State.REDIRECTED}:
                self.problems.append(f"Cancelled at: a {path[-1][0]} referral cannot be cancelled.")
            path.append((State.CANCELLED, "cancelled_at", reason))
        reached = path[-1][0] if path else State.RECEIVED
        if wanted and wanted != reached:
            self.problems.append(
                f"State: the file says '{self.text('state')}' but its dates tell {reached}."
            )
        return None if self.problems else path

    def _timed(self, path, times: dict, received_at: dt.datetime) -> list[Step]:
        steps, appointment_at = [], times["appointment_at"]
        last = received_at
        for index, (state, column, reason) in enumerate(path):
            at, source = times[column], ""
            if at is None:
                later = [(c, times[c]) for _, c, _ in path[index + 1 :] if times[c]]
                if not later:
                    final, final_column, _ = path[-1]
                    self.problems.append(
                        f"{_label(final_column)}: missing (the file's state is {final}, "
                        "with no date for it)."
                    )
                    return []
                source, at = later[0]
            if at < last:
                self.problems.append(f"{_label(column)}: before the step that came earlier.")
                return []
            last = at
            steps.append(
                Step(
                    at=at,
                    to_state=state,
                    reason=reason,
                    appointment_at=appointment_at if state == State.SCHEDULED else None,
                    time_from=source,
                )
            )
        return steps


# A file repeats its dates (births, days of arrival) thousands of times; strptime is slow. The
# answers depend only on the text, the formats and the zone, so they are remembered.
@functools.lru_cache(maxsize=1 << 16)
def _date_parsed(value: str, formats: tuple[str, ...]) -> dt.date | None:
    for fmt in formats:
        try:
            return _strptime(value[:10] if "%H" not in fmt else value, fmt).date()
        except ValueError:
            continue
    return None


@functools.lru_cache(maxsize=1 << 16)
def _moment_parsed(value: str, formats: tuple[str, ...], tz) -> dt.datetime | None:
    """The moment in the first format that reads it; a time without a zone is in `tz`."""
    for fmt in formats:
        try:
            parsed = _strptime(value, fmt)
        except ValueError:
            continue
        return timezone.make_aware(parsed, tz) if timezone.is_naive(parsed) else parsed
    return None


# strptime's own patterns (CPython's _strptime.TimeRE) for the numeric directives a file's dates
# use. strptime rebuilds its answer through locale and calendar code on every call (~10 us); a
# million rows of distinct arrival times pay that each. The same regex, the same match rule and
# the same datetime() checks give the same answer or the same ValueError.
_DIRECTIVES = {
    "d": r"(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])",
    "H": r"(?P<H>2[0-3]|[0-1]\d|\d)",
    "m": r"(?P<m>1[0-2]|0[1-9]|[1-9])",
    "M": r"(?P<M>[0-5]\d|\d)",
    "S": r"(?P<S>6[0-1]|[0-5]\d|\d)",
    "Y": r"(?P<Y>\d\d\d\d)",
}
_SPACES = re.compile(r"\s+")


@functools.cache
def _format_regex(fmt: str) -> re.Pattern | None:
    """strptime's regex for a format of numeric directives only; None for any other (%z, %p,
    %b, a directive twice...), which strptime itself then reads."""
    parts, seen, index = [], set(), 0
    while index < len(fmt):
        char = fmt[index]
        if char == "%":
            directive = fmt[index + 1 : index + 2]
            if directive == "%":
                parts.append("%")
            elif directive in _DIRECTIVES and directive not in seen:
                parts.append(_DIRECTIVES[directive])
                seen.add(directive)
            else:
                return None
            index += 2
        elif char.isspace():
            gap = _SPACES.match(fmt, index)
            parts.append(r"\s+")  # strptime: any run of blanks in the format matches any run
            index = gap.end()
        else:
            parts.append(re.escape(char))
            index += 1
    return re.compile("".join(parts), re.IGNORECASE)


def _strptime(value: str, fmt: str) -> dt.datetime:
    """dt.datetime.strptime(value, fmt), faster for numeric formats; ValueError alike."""
    regex = _format_regex(fmt)
    if regex is None:
        return dt.datetime.strptime(value, fmt)
    found = regex.match(value)
    if found is None or found.end() != len(value):  # strptime's rule: match, then all of it
        raise ValueError(f"time data {value!r} does not match format {fmt!r}")
    get = found.groupdict().get
    return dt.datetime(
        int(get("Y") or 1900), int(get("m") or 1), int(get("d") or 1),
        int(get("H") or 0), int(get("M") or 0), int(get("S") or 0),
    )  # fmt: skip


@functools.cache
def _codes(choices) -> dict[str, str]:
    """Our code for each code and label of a choice, lower-cased (a million rows ask)."""
    codes = {label.lower(): code for code, label in choices.choices}
    codes.update({code: code for code in choices.values})
    return codes


def _cell(value) -> str:
    if value is None:
        return ""
    return value.strip() if type(value) is str else str(value).strip()


def _label(name: str) -> str:
    return dict(FIELDS).get(name, name).split(" (")[0]
