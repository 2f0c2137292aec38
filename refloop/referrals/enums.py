"""The referral's states, transitions, reasons and events, declared once (DESIGN.md, lifecycle)."""

from django.db import models

from refloop.directory.enums import DocumentKind, Priority  # noqa: F401  (re-exported)


class State(models.TextChoices):
    RECEIVED = "received", "Received"
    TRIAGE = "triage", "In triage"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    REDIRECTED = "redirected", "Redirected"
    SCHEDULED = "scheduled", "Scheduled"
    NO_SHOW = "no_show", "No-show"
    COMPLETED = "completed", "Completed"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


# Named groups of states, in lifecycle order (a fixed order keeps the worklist's partial index
# condition stable across processes).
OPEN_STATES = (
    State.RECEIVED,
    State.TRIAGE,
    State.ACCEPTED,
    State.SCHEDULED,
    State.NO_SHOW,
    State.COMPLETED,
)
ENDED_STATES = (State.DECLINED, State.REDIRECTED, State.CLOSED, State.CANCELLED)
BEFORE_DECISION = frozenset({State.RECEIVED, State.TRIAGE})

TRANSITIONS: dict[str, frozenset[str]] = {
    State.RECEIVED: frozenset({State.TRIAGE, State.REDIRECTED, State.CANCELLED}),
    State.TRIAGE: frozenset({State.ACCEPTED, State.DECLINED, State.REDIRECTED, State.CANCELLED}),
    State.DECLINED: frozenset({State.TRIAGE}),
    State.ACCEPTED: frozenset({State.SCHEDULED, State.REDIRECTED, State.CANCELLED}),
    State.SCHEDULED: frozenset(
        {State.SCHEDULED, State.COMPLETED, State.NO_SHOW, State.ACCEPTED, State.CANCELLED}
    ),
    State.NO_SHOW: frozenset({State.SCHEDULED, State.CANCELLED}),
    State.COMPLETED: frozenset({State.CLOSED}),
    State.REDIRECTED: frozenset(),
    State.CLOSED: frozenset(),
    State.CANCELLED: frozenset(),
}

# FHIR Task.status and BSeR businessStatus per state (DESIGN.md table).
FHIR_TASK_STATUS = {
    State.RECEIVED: ("requested", "2.0"),
    State.TRIAGE: ("received", None),
    State.ACCEPTED: ("accepted", "3.0"),
    State.DECLINED: ("rejected", "4.0"),
    State.REDIRECTED: ("cancelled", None),
    State.SCHEDULED: ("in-progress", "5.1.1"),
    State.NO_SHOW: ("in-progress", "5.1.2"),
    State.COMPLETED: ("in-progress", "5.1.4"),
    State.CLOSED: ("completed", "7.0"),
    State.CANCELLED: ("cancelled", "6.0"),
}


class Channel(models.TextChoices):
    FAX = "fax", "Fax"
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone"
    PORTAL = "portal", "Referring-office portal"
    FHIR = "fhir", "EHR (FHIR)"
    HL7 = "hl7", "HL7 v2"
    FILE = "file", "File import"


class DeclineReason(models.TextChoices):
    NOT_INDICATED = "not_indicated", "Not clinically indicated"
    OUTSIDE_SCOPE = "outside_scope", "Outside the service's scope"
    EXCLUSION = "exclusion", "Meets an exclusion criterion"
    INSURANCE = "insurance", "Insurance not accepted"
    MANAGE_IN_PRIMARY_CARE = "primary_care", "Can be managed in primary care"
    DUPLICATE = "duplicate", "Duplicate referral"


class RedirectReason(models.TextChoices):
    OTHER_SERVICE_LINE = "other_service_line", "Better served by another service line"
    OTHER_PROVIDER = "other_provider", "Better served by another provider"
    CLOSER_LOCATION = "closer_location", "Closer location for the patient"
    SUBSPECIALTY = "subspecialty", "Needs a subspecialist"


class CancelReason(models.TextChoices):
    PATIENT_DECLINED = "patient_declined", "Patient declined"
    UNABLE_TO_REACH = "unable_to_reach", "Unable to reach the patient"
    SEEN_ELSEWHERE = "seen_elsewhere", "Seen elsewhere"
    NO_SHOW_LIMIT = "no_show_limit", "No-show limit reached"
    REFERRER_WITHDREW = "referrer_withdrew", "Referrer withdrew the referral"
    INSURANCE_DENIED = "insurance_denied", "Insurance or authorization denied"
    PATIENT_DECEASED = "patient_deceased", "Patient deceased"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


REASONS_FOR = {
    State.DECLINED: DeclineReason,
    State.REDIRECTED: RedirectReason,
    State.CANCELLED: CancelReason,
}


class BlockerKind(models.TextChoices):
    MISSING_RECORDS = "missing_records", "Missing records"
    AUTHORIZATION_PENDING = "authorization_pending", "Authorization pending"
    PATIENT_NOT_REACHED = "patient_not_reached", "Patient not reached"
    INFO_REQUESTED = "info_requested", "More information asked of the referrer"
    REFERRER_NOT_VERIFIED = "referrer_not_verified", "Referrer not verified"


# Blockers that mean waiting on others: clocks pause while one is open (net durations).
WAITING_BLOCKERS = frozenset(
    {BlockerKind.MISSING_RECORDS, BlockerKind.AUTHORIZATION_PENDING, BlockerKind.INFO_REQUESTED}
)


class Milestone(models.TextChoices):
    ACKNOWLEDGED = "acknowledged", "Referrer acknowledged"
    RECORDS_COMPLETE = "records_complete", "Records complete"
    FIRST_CONTACT = "first_contact", "First patient contact"
    AUTHORIZATION_DECIDED = "authorization_decided", "Authorization decided"
    REPORT_DELIVERED = "report_delivered", "Report delivered"
    REPORT_ACKNOWLEDGED = "report_acknowledged", "Report acknowledged"


class EventKind(models.TextChoices):
    RECEIVED = "received", "Received"
    STATE_CHANGED = "state_changed", "State changed"
    MILESTONE = "milestone", "Milestone"
    BLOCKER_OPENED = "blocker_opened", "Blocker opened"
    BLOCKER_RESOLVED = "blocker_resolved", "Blocker resolved"
    ASSIGNED = "assigned", "Assigned"
    DOCUMENT_ADDED = "document_added", "Document added"
    CHECKLIST = "checklist", "Checklist item updated"
    CORRECTION = "correction", "Correction"
    REVISED = "revised", "Revised by the sender"


class ChecklistStatus(models.TextChoices):
    REQUIRED = "required", "Required"
    REQUESTED = "requested", "Requested"
    RECEIVED = "received", "Received"
    WAIVED = "waived", "Waived"


CHECKLIST_DONE = frozenset({ChecklistStatus.RECEIVED, ChecklistStatus.WAIVED})


class ClockStatus(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    BREACHED = "breached", "Breached"
    PAUSED = "paused", "Waiting on others"
    MET = "met", "Met"
    MISSED = "missed", "Missed"
    ENDED = "ended", "Ended early"
