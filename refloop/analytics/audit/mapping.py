"""What another system's columns and values mean, in the shape of a file import source's saved
mapping (interop.files.models.ImportSource.mapping), so one JSON file serves both:

    {"columns": {"<our field>": "<their column>", ...},
     "values": {"<our field>": {"<their value>": "<our value>", ...}, ...},
     "date_formats": ["%m/%d/%Y %H:%M", ...]}

Our fields are the fact builder's milestone columns (analytics.facts.MILESTONE_COLUMNS), plus a
few names the file import uses for the same things (ALIASES) and the times a file may give
instead of a decision (declined_at, redirected_at, cancelled_at). On the command line the same
mapping is `--column received_at="Date Received"`, `--value channel:Fax=fax` and
`--date-format "%m/%d/%Y"`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from refloop.analytics.audit import AuditError
from refloop.analytics.facts import MILESTONE_COLUMNS, TIME_COLUMNS

# The import's names for our fields (interop.files.rows.FIELDS) -> the fact column.
ALIASES = {
    "sender_reference": "reference",
    "patient_mrn": "patient_key",
    "referrer_npi": "referrer_key",
    "referrer_organization": "practice",
    "scheduled_at": "booked_at",
    "completed_at": "seen_at",
    "closed_at": "report_sent_at",
    "decline_reason": "outcome_reason",
    "cancel_reason": "outcome_reason",
    "redirect_reason": "outcome_reason",
}
# Times that say which decision or end it was, when the file has no decision column.
END_TIMES = ("declined_at", "redirected_at", "cancelled_at")
# The first booking's appointment, which days to appointment is judged on (analytics.build).
FIRST_APPOINTMENT = "first_appointment_at"
FIELDS = (
    tuple(c for c in MILESTONE_COLUMNS if c != "referral_id")
    + ("reference", FIRST_APPOINTMENT)
    + END_TIMES
)
TIME_FIELDS = TIME_COLUMNS + END_TIMES + (FIRST_APPOINTMENT,)

# Our codes (referrals.enums, repeated to stay free of Django; a test keeps them equal).
CHOICES = {
    "state": ("received", "triage", "accepted", "declined", "redirected", "scheduled", "no_show",
              "completed", "closed", "cancelled"),
    "priority": ("routine", "urgent", "stat"),
    "channel": ("fax", "email", "phone", "portal", "fhir", "hl7", "file"),
    "decision": ("accepted", "declined", "redirected"),
}  # fmt: skip

# Date and time formats tried in order when the mapping names none (chrono syntax, as strftime).
DEFAULT_DATE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y",
)


@dataclass(frozen=True)
class Mapping:
    columns: dict[str, str] = field(default_factory=dict)  # our field -> their column
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> {theirs: ours}
    date_formats: tuple[str, ...] = ()

    @property
    def formats(self) -> tuple[str, ...]:
        return self.date_formats or DEFAULT_DATE_FORMATS

    def as_json(self) -> dict:
        return {
            "columns": dict(self.columns),
            "values": {k: dict(v) for k, v in self.values.items()},
            "date_formats": list(self.date_formats),
        }


def mapping_parse(raw: dict) -> Mapping:
    """A mapping from its JSON shape; our field names checked, the import's aliases accepted."""
    if not isinstance(raw, dict):
        raise AuditError("A mapping is a JSON object with 'columns', 'values', 'date_formats'.")
    columns = {_field(name): str(column) for name, column in (raw.get("columns") or {}).items()
               if column}  # fmt: skip
    values = {}
    for name, pairs in (raw.get("values") or {}).items():
        if not isinstance(pairs, dict):
            raise AuditError(f"Values of {name!r}: give {{their value: our value}}.")
        values.setdefault(_field(name), {}).update(
            {str(k).strip().lower(): str(v).strip() for k, v in pairs.items()}
        )
    formats = raw.get("date_formats") or []
    formats += [f for f in raw.get("datetime_formats") or [] if f not in formats]
    return Mapping(columns=columns, values=values, date_formats=tuple(formats))


def mapping_load(path: str | Path) -> Mapping:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise AuditError(f"Cannot read the mapping file {path}: {error.strerror}.") from None
    except json.JSONDecodeError as error:
        raise AuditError(f"The mapping file {path} is not JSON: {error}.") from None
    return mapping_parse(raw)


def mapping_merge(base: Mapping, *, columns=(), values=(), date_formats=()) -> Mapping:
    """The mapping with the command line's `--column`, `--value`, `--date-format` on top."""
    merged = base.as_json()
    for text in columns:
        name, sep, column = text.partition("=")
        if not sep or not name.strip() or not column:
            raise AuditError(f'--column {text!r}: write it as our_field="Their column".')
        merged["columns"][name.strip()] = column.strip()
    for text in values:
        name, sep, pair = text.partition(":")
        theirs, sep2, ours = pair.rpartition("=")
        if not (sep and sep2 and name.strip() and theirs):
            raise AuditError(f"--value {text!r}: write it as field:their_value=our_value.")
        merged["values"].setdefault(name.strip(), {})[theirs] = ours
    merged["date_formats"] = list(date_formats) + merged["date_formats"]
    return mapping_parse(merged)


def _field(name: str) -> str:
    name = ALIASES.get(name.strip(), name.strip())
    if name not in FIELDS:
        raise AuditError(
            f"Unknown field {name!r} in the mapping. Our fields: {', '.join(sorted(FIELDS))}."
        )
    return name


# Refloop's own referral export (interop.files.queries.REFERRAL_COLUMNS): `--from refloop`.
REFLOOP_EXPORT = Mapping(
    columns={
        "reference": "number",
        "received_at": "received_at",
        "service_line": "service_line",
        "priority": "priority",
        "state": "state",
        "channel": "channel",
        "referrer_key": "referring_npi",
        "referrer_name": "referrer_name",
        "practice": "referring_organization",
        "acknowledged_at": "acknowledged_at",
        "decided_at": "triage_decided_at",
        "first_contact_at": "first_contact_at",
        "seen_at": "completed_at",
        "report_sent_at": "closed_at",
        "outcome_reason": "outcome_reason",
        "patient_key": "patient_mrn",
        # The fact table's milestones, appended to the export for this.
        "decision": "decision",
        "accepted_at": "accepted_at",
        "booked_at": "booked_at",
        "appointment_at": "visit_at",
        "report_delivered_at": "report_delivered_at",
        "ended_at": "ended_at",
        "last_activity_at": "last_activity_at",
        "no_shows": "no_shows",
        "visit_type": "visit_type",
        "records_complete_on_arrival": "records_complete_on_arrival",
        "records_complete_at": "records_complete_at",
        FIRST_APPOINTMENT: FIRST_APPOINTMENT,
    }
)
BUILT_IN = {"refloop": REFLOOP_EXPORT}
