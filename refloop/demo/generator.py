"""The demo generator: a synthetic referral program whose rates follow published figures.

Each referral's path is simulated in memory as a story told through the same steps the services
take (receive, transition, milestone, blocker, document, appointment, report), with the clocks kept
by the shared `ClockBook` on the practice's business calendar; the loader then bulk-inserts the
rows. Nothing here is a real person: names are drawn from fixed synthetic lists, NPIs from a
synthetic range with a valid check digit.

What the rates are based on (a summary in our own words; numbers rounded)
-------------------------------------------------------------------------
- Many referrals never complete. Patel et al. (2018, J Gen Intern Med, "Closing the referral
  loop") followed about 104,000 primary-care referral scheduling attempts in a large academic
  health system (Duke): only about 35% ended in a documented completed specialist visit, nearly
  four in ten never got an appointment date, and specialties with long waits completed fewer.
  Mehrotra, Forrest and Lin (2011, Milbank Quarterly, "Dropping the baton") reviewed the US
  literature: referrals often carry too little information, referring physicians often do not
  know whether their patient went, and care across the primary-specialty interface is poorly
  joined up. In community primary care completion is higher (about 8 in 10 within 3 months in
  the ASPN referral study, Forrest et al. 2007). We aim between the two, as an academic centre
  with a working referral office: about 55-60% of referrals end in a visit and 40-45% never
  complete (declined, redirected, cancelled, or still open).
- No-shows. Dantas et al. (2018, Health Policy) reviewed 105 studies: the average no-show rate
  was about 23% (lower in some regions, e.g. about 13% in Oceania), and the strongest predictors
  were a long lead time and earlier no-shows; younger age, lower income and lack of private
  insurance also raise it. Published specialty clinics mostly fall between 8% and 23%. We use a
  base rate that rises with the wait, is higher for patients prone to missing visits and after a
  first no-show, giving about 13-16% overall.
- Missing information is common. Gandhi et al. (2000, J Gen Intern Med) found in an academic
  centre that specialists had received no information from the referring physician before 68%
  of referral visits. O'Malley and Reschovsky (2011, Arch Intern Med), in a national physician
  survey, found that 69% of primary-care physicians say they usually send the history and reason
  for referral but only 35% of specialists say they usually receive it. So about 60% of our
  referrals arrive with at least one required document missing (a "missing records" blocker
  that pauses the clocks); most records follow within days, some never and are waived or the
  referral lapses. Prior authorization holds up a share of referrals (most for imaging and
  procedures), and a few are denied.
- Waits. Merritt Hawkins' (AMN Healthcare) 2022 Survey of Physician Appointment Wait Times called
  offices in 15 large metropolitan areas as a new patient and recorded the time to the first
  available non-urgent new-patient appointment: on average about 26.6 days for cardiology, 34.5
  for dermatology and 16.9 for orthopedic surgery (26 days across its five specialties). That is
  the first available slot, not the wait actually experienced. Gastroenterology was not in the
  2022 survey; we use about 40 days, the figure AMN reported when it added the specialty in a
  later edition. Oncology (about 10 days, new cancers are expedited) and outpatient imaging
  (about 7 days) are our own assumptions. Waits vary around these means (log-normal), urgent
  referrals wait about a fifth as long, stat ones a day or less.
- Reports back are often late or missing. Forrest et al. (2000, Arch Pediatr Adolesc Med)
  counted a referral as complete only when the referring pediatrician had the specialist's
  written results, and found that far more likely when the two offices exchanged information;
  Gandhi et al. (2000) found 25% of primary-care physicians still had no information four weeks
  after the visit; O'Malley and Reschovsky (2011): 81% of specialists say they usually send
  results, only 62% of primary-care physicians say they usually get them. Our care team sends
  most reports within a couple of business days, about one in ten much later, and a few never;
  delivery is confirmed for most electronic channels and most faxes, never for mail.
- Referrers change. Each referring clinician has a volume (a few send most referrals, a
  Pareto-like spread) and a trajectory over the two years: steady, growing, declining, dormant
  after a date (the "lost referrer" a liaison should notice), new from a date, or occasional.

Mixes we chose (assumptions, in line with the sources above where they speak): priority mostly
routine (about 85%; oncology about 55%); channel mostly fax from outside practices, FHIR/HL7 from
in-network practices and hospitals; declines mostly "not indicated" or "manage in primary care";
cancellations mostly unreachable patients, patients declining, or care elsewhere. Timestamps fall
in business hours, except arrivals (faxes come at night) and stat work, which runs around the
clock. The last weeks before today hold open referrals in every state, some breached, some at
risk, some on track.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import random
from dataclasses import dataclass, field
from functools import partial

from django.utils import timezone

from refloop.access.models import Appointment, AuthorizationStatus
from refloop.access.services.authorization import authorization_expires_at
from refloop.core.roles import Role
from refloop.demo.program import Line, Program, Referrer, weighted
from refloop.directory.enums import DocumentKind, Priority
from refloop.referrals import clocks
from refloop.referrals.enums import (
    CHECKLIST_DONE,
    OPEN_STATES,
    REASONS_FOR,
    TRANSITIONS,
    WAITING_BLOCKERS,
    BlockerKind,
    CancelReason,
    ChecklistStatus,
    DeclineReason,
    EventKind,
    Milestone,
    RedirectReason,
    State,
)
from refloop.referrals.models import Referral
from refloop.referrals.services.lifecycle import STATE_TIMESTAMPS

HOUR = 3600.0
ELECTRONIC_CHANNELS = {"portal", "fhir", "hl7"}
OUTCOME_STATE = {
    Appointment.Outcome.ATTENDED: State.COMPLETED,
    Appointment.Outcome.NO_SHOW: State.NO_SHOW,
    Appointment.Outcome.CANCELLED: State.ACCEPTED,
}
DECLINE_REASONS = (
    (DeclineReason.NOT_INDICATED, 0.30),
    (DeclineReason.MANAGE_IN_PRIMARY_CARE, 0.25),
    (DeclineReason.OUTSIDE_SCOPE, 0.15),
    (DeclineReason.EXCLUSION, 0.15),
    (DeclineReason.DUPLICATE, 0.10),
    (DeclineReason.INSURANCE, 0.05),
)
REDIRECT_REASONS = (
    (RedirectReason.OTHER_SERVICE_LINE, 0.45),
    (RedirectReason.SUBSPECIALTY, 0.25),
    (RedirectReason.OTHER_PROVIDER, 0.15),
    (RedirectReason.CLOSER_LOCATION, 0.15),
)


# How long a demo authorization is valid (payers commonly approve for 60 to 180 days).
AUTHORIZATION_VALID = dt.timedelta(days=90)


class Horizon(Exception):
    """The story reached today: what is left of it has not happened yet."""


@dataclass
class PatientInfo:
    row: dict  # a directory.Patient row
    coverage: dict | None
    plan: str | None
    needs_authorization: bool
    interpreter: bool
    prone_to_miss: bool  # latent: some patients miss visits more (Dantas et al. 2018)


@dataclass
class Documents:
    """The shared synthetic PDFs every demo document points at (name, size)."""

    packet: tuple[str, int]
    report: tuple[str, int]


class Ids:
    """Ids handed out before insert, for the rows that others point at."""

    def __init__(self, first: dict[str, int]):
        self._next = dict(first)

    def take(self, table: str) -> int:
        n = self._next[table]
        self._next[table] = n + 1
        return n


@dataclass
class World:
    program: Program
    now: dt.datetime
    users: dict[str, int]  # role -> demo user id
    files: Documents
    ids: Ids


@dataclass
class Story:
    """One referral told through the services' steps, in memory. Every step refuses a time past
    today (Horizon) and never lets time run backwards. Rows are plain dicts keyed by column
    (attname); the referral and its clocks are model instances, as the services hold them."""

    world: World
    rng: random.Random
    referral: Referral
    line: Line
    patient: PatientInfo
    referrer: Referrer | None
    book: clocks.ClockBook = field(init=False)
    events: list[dict] = field(default_factory=list)
    blockers: list[dict] = field(default_factory=list)
    open_blockers: dict[str, dict] = field(default_factory=dict)
    checklist: list[dict] = field(default_factory=list)
    documents: list[dict] = field(default_factory=list)
    appointments: list[dict] = field(default_factory=list)
    reports: list[dict] = field(default_factory=list)
    authorizations: list[dict] = field(default_factory=list)
    t: dt.datetime = field(init=False)
    recorded: dt.datetime = field(init=False)
    wait: float = 0.0  # days from the last booking to its appointment

    def __post_init__(self):
        self.book = clocks.ClockBook(
            referral_id=self.referral.pk,
            priority=self.referral.priority,
            targets=self.line.targets[self.referral.priority],
            calendar=self.world.program.calendar,
        )
        self.t = self.recorded = self.referral.received_at

    # -- time ---------------------------------------------------------------------------------

    @property
    def stat(self) -> bool:
        return self.referral.priority == Priority.STAT

    def work(self, start: dt.datetime, hours: float) -> dt.datetime:
        """`hours` of working time after start: business hours, or around the clock for stat."""
        if self.stat:
            return start + dt.timedelta(hours=hours)
        return self.world.program.calendar.add(start, int(hours * HOUR))

    def lognormal(self, median: float, sigma: float = 0.9) -> float:
        return median * math.exp(sigma * self.rng.gauss(0.0, 1.0))

    def _at(self, at: dt.datetime) -> dt.datetime:
        if at > self.world.now:
            raise Horizon
        if at < self.t:
            at = self.t
        self.t = at
        return at

    def _recorded_at(self, at: dt.datetime) -> dt.datetime:
        # Most steps are entered as they happen; some a little later; a few backdated next day.
        roll = self.rng.random()
        if roll < 0.8:
            lag = self.rng.uniform(0, 180)
        elif roll < 0.96:
            lag = self.rng.uniform(300, 3600)
        else:
            lag = self.rng.uniform(3600, 20 * 3600)
        recorded = max(self.recorded, min(self.world.now, at + dt.timedelta(seconds=lag)))
        self.recorded = recorded
        return recorded

    def _event(
        self,
        kind: str,
        at: dt.datetime,
        actor: int | None,
        *,
        from_state: str = "",
        to_state: str = "",
        code: str = "",
        note: str = "",
        details: dict | None = None,
    ) -> dict:
        event = {
            "referral_id": self.referral.pk,
            "kind": kind,
            "from_state": from_state,
            "to_state": to_state,
            "code": code,
            "note": note,
            "details": details if details is not None else {},
            "actor_id": actor,
            "corrects_id": None,
            "occurred_at": at,
            "recorded_at": self._recorded_at(at),
        }
        self.events.append(event)
        return event

    def user(self, role: str) -> int:
        return self.world.users[role]

    # -- the services' steps ------------------------------------------------------------------

    def receive(self, *, present: set[str], actor: int | None) -> None:
        """referral_receive: the received event, checklist, documents, initial blockers, clocks."""
        referral, at = self.referral, self.referral.received_at
        self._event(EventKind.RECEIVED, at, actor, to_state=State.RECEIVED, code=referral.channel)
        self.checklist = [
            {
                "referral_id": referral.pk,
                "name": name,
                "document_kind": kind,
                "status": ChecklistStatus.REQUIRED,
                "document_id": None,
                "updated_at": None,
            }
            for name, kind in self.line.checklist
        ]
        kinds = [DocumentKind.REFERRAL_LETTER] + [
            kind for _, kind in self.line.checklist if kind in present
        ]
        for kind in kinds:
            document = self._document(kind, at, actor)
            item = self._checklist_open(kind, statuses=(ChecklistStatus.REQUIRED,))
            if item:
                item["status"] = ChecklistStatus.RECEIVED
                item["document_id"], item["updated_at"] = document["id"], at
        blocked = []
        if any(i["status"] == ChecklistStatus.REQUIRED for i in self.checklist):
            blocked.append(BlockerKind.MISSING_RECORDS)
        if referral.referring_clinician_id is None:
            blocked.append(BlockerKind.REFERRER_NOT_VERIFIED)
        for kind in blocked:
            blocker = self._blocker(kind, at, "")
            self.open_blockers[kind] = blocker
            self._event(EventKind.BLOCKER_OPENED, at, actor, code=kind)
        referral.open_blocker_count = len(blocked)
        clocks.on_received(self.book, at)
        if self.waiting:
            clocks.on_waiting_changed(self.book, waiting=True, at=at)

    def _checklist_open(self, kind: str, statuses) -> dict | None:
        for item in self.checklist:
            if item["document_kind"] == kind and item["status"] in statuses:
                return item
        return None

    def _blocker(self, kind: str, at: dt.datetime, note: str) -> dict:
        blocker = {
            "referral_id": self.referral.pk,
            "kind": kind,
            "opened_at": at,
            "resolved_at": None,
            "note": note,
        }
        self.blockers.append(blocker)
        return blocker

    @property
    def waiting(self) -> bool:
        return any(kind in WAITING_BLOCKERS for kind in self.open_blockers)

    def _document(self, kind: str, at: dt.datetime, actor: int | None) -> dict:
        files = self.world.files
        name, size = files.report if kind == DocumentKind.REPORT else files.packet
        document = {
            "id": self.world.ids.take("document"),
            "referral_id": self.referral.pk,
            "kind": kind,
            "title": DOCUMENT_TITLES[kind],
            "original": name,
            "content_type": "application/pdf",
            "size": size,
            "viewable": "",
            "pages": 1,
            "uploaded_by_id": actor,
            "uploaded_at": at,
        }
        self.documents.append(document)
        return document

    def transition(
        self,
        to_state: str,
        at: dt.datetime,
        actor: int | None,
        *,
        reason: str = "",
        appointment_at: dt.datetime | None = None,
        details: dict | None = None,
    ) -> dict:
        """referral_transition."""
        at = self._at(at)
        referral = self.referral
        from_state = referral.state
        if to_state not in TRANSITIONS[from_state]:
            raise AssertionError(f"demo story tried {from_state} -> {to_state}")
        referral.version += 1
        referral.state = to_state
        referral.state_changed_at = at
        if to_state in REASONS_FOR:
            referral.outcome_reason = reason
        if to_state in STATE_TIMESTAMPS:
            setattr(referral, STATE_TIMESTAMPS[to_state], at)
        if to_state == State.SCHEDULED:
            referral.appointment_at = appointment_at
            referral.first_contact_at = referral.first_contact_at or at
        elif from_state == State.SCHEDULED and to_state == State.ACCEPTED:
            referral.appointment_at = None
        event_details = dict(details or {})
        if appointment_at:
            event_details["appointment_at"] = appointment_at.isoformat()
        event = self._event(
            EventKind.STATE_CHANGED,
            at,
            actor,
            from_state=from_state,
            to_state=to_state,
            code=reason,
            details=event_details,
        )
        clocks.on_transition(
            self.book,
            from_state=from_state,
            to_state=to_state,
            at=at,
            appointment_at=appointment_at,
        )
        if self.waiting:
            clocks.on_waiting_changed(self.book, waiting=True, at=at)
        return event

    def milestone(self, milestone: str, at: dt.datetime, actor: int | None, details=None) -> None:
        """milestone_record."""
        at = self._at(at)
        referral = self.referral
        referral.version += 1
        if milestone == Milestone.ACKNOWLEDGED and not referral.acknowledged_at:
            referral.acknowledged_at = at
        if milestone == Milestone.FIRST_CONTACT and not referral.first_contact_at:
            referral.first_contact_at = at
        self._event(EventKind.MILESTONE, at, actor, code=milestone, details=details)
        clocks.on_milestone(self.book, milestone=milestone, at=at)

    def blocker_open(self, kind: str, at: dt.datetime, actor: int | None, note: str = "") -> None:
        at = self._at(at)
        self.referral.version += 1
        if kind in self.open_blockers:
            return
        was_waiting = self.waiting
        self.open_blockers[kind] = self._blocker(kind, at, note)
        self._blockers_changed(EventKind.BLOCKER_OPENED, kind, note, at, actor, was_waiting)

    def blocker_resolve(self, kind: str, at: dt.datetime, actor: int | None, note: str = ""):
        at = self._at(at)
        if kind not in self.open_blockers:
            return
        self.referral.version += 1
        was_waiting = self.waiting
        self.open_blockers.pop(kind)["resolved_at"] = at
        self._blockers_changed(EventKind.BLOCKER_RESOLVED, kind, note, at, actor, was_waiting)

    def _blockers_changed(self, event_kind, kind, note, at, actor, was_waiting) -> None:
        self.referral.open_blocker_count = len(self.open_blockers)
        self._event(event_kind, at, actor, code=kind, note=note)
        if self.waiting != was_waiting:
            clocks.on_waiting_changed(self.book, waiting=self.waiting, at=at)

    def document_add(self, kind: str, at: dt.datetime, actor: int | None) -> None:
        """document_add: stored, logged, and ticked off the checklist."""
        at = self._at(at)
        self.referral.version += 1
        document = self._document(kind, at, actor)
        self._event(
            EventKind.DOCUMENT_ADDED, at, actor, code=kind, details={"document_id": document["id"]}
        )
        item = self._checklist_open(kind, statuses=NOT_DONE)
        if item:
            self.checklist_set(item, ChecklistStatus.RECEIVED, at, actor, document=document)

    def checklist_set(self, item, status, at, actor, *, document=None, claim=False) -> None:
        """checklist_item_set (a form claims the referral; a matched document does not)."""
        at = self._at(at)
        if claim:
            self.referral.version += 1
        item["status"] = status
        if document:
            item["document_id"] = document["id"]
        item["updated_at"] = at
        self._event(EventKind.CHECKLIST, at, actor, code=status, details={"item": item["name"]})
        missing = any(i["status"] not in CHECKLIST_DONE for i in self.checklist)
        has_blocker = BlockerKind.MISSING_RECORDS in self.open_blockers
        if missing and not has_blocker and self.referral.state in OPEN_STATES:
            self.blocker_open(BlockerKind.MISSING_RECORDS, at, actor)
        elif not missing and has_blocker:
            self.blocker_resolve(BlockerKind.MISSING_RECORDS, at, actor)

    def appointment_book(self, starts_at: dt.datetime, at: dt.datetime, actor: int) -> None:
        """access.appointment_book."""
        self.transition(State.SCHEDULED, at, actor, appointment_at=starts_at)
        for appointment in self.appointments:
            if appointment["outcome"] == Appointment.Outcome.BOOKED:
                appointment["outcome"] = Appointment.Outcome.REBOOKED
        self.appointments.append(
            {
                "id": self.world.ids.take("appointment"),
                "referral_id": self.referral.pk,
                "starts_at": starts_at,
                "clinician_id": self.rng.choice(self.line.specialists).pk,
                "location": self.line.location,
                "outcome": Appointment.Outcome.BOOKED,
                "booked_by_id": actor,
                "booked_at": self.t,
            }
        )

    def appointment_outcome(self, outcome: str, at: dt.datetime, actor: int) -> None:
        """access.appointment_record_outcome."""
        appointment = self.appointments[-1]
        details = {"appointment_id": appointment["id"]}
        self.transition(OUTCOME_STATE[outcome], at, actor, details=details)
        appointment["outcome"] = outcome

    def report_send(self, channel: str, at: dt.datetime, actor: int) -> None:
        """loop.report_send: the report is stored, then the referral closes."""
        at = self._at(at)
        document = self._document(DocumentKind.REPORT, at, actor)
        self.transition(State.CLOSED, at, actor, details={"channel": channel})
        self.reports.append(
            {
                "referral_id": self.referral.pk,
                "document_id": document["id"],
                "channel": channel,
                "sent_at": at,
                "sent_by_id": actor,
                # Sent outside Refloop's messages in the demo's history; delivery and
                # acknowledgement are filled in with their milestones.
                "message_id": None,
                "delivered_at": None,
                "acknowledged_at": None,
            }
        )

    def assign(self, user: int, at: dt.datetime, actor: int) -> None:
        """referral_assign."""
        at = self._at(at)
        self.referral.version += 1
        self.referral.assignee_id = user
        self._event(EventKind.ASSIGNED, at, actor, details={"assignee_id": user})

    def cancel(self, reason: str, at: dt.datetime, actor: int) -> None:
        self.transition(State.CANCELLED, at, actor, reason=reason)

    def run(self, agenda: list[tuple[dt.datetime, object]]) -> None:
        """Carry out steps planned at independent times, in time order."""
        for _, step in sorted(agenda, key=lambda pair: pair[0]):
            step()

    def finish(self) -> None:
        """The referral row as the services would have left it."""
        referral = self.referral
        referral.next_due_at, referral.next_at_risk_at = self.book.next_times()
        # The scheduler looks at every open referral once after the load.
        referral.next_check_at = referral.state_changed_at if referral.is_open else None
        for row in self.authorizations:
            _authorization_settle(row, referral, self.world.now)
        referral.created_at = self.events[0]["recorded_at"]
        referral.updated_at = self.recorded


NOT_DONE = tuple(s for s in ChecklistStatus.values if s not in CHECKLIST_DONE)
DOCUMENT_TITLES = {kind: DocumentKind(kind).label for kind in DocumentKind.values}


# -- the story ---------------------------------------------------------------------------------


def story_tell(story: Story) -> None:
    """Tell one referral's story up to today; open referrals get assigned to someone, mostly."""
    with contextlib.suppress(Horizon):
        _intake(story)
    if story.referral.state in OPEN_STATES and story.rng.random() < 0.55:
        _assign_open(story)
    story.finish()


def _assign_open(s: Story) -> None:
    role = {
        State.RECEIVED: Role.INTAKE,
        State.TRIAGE: Role.TRIAGE,
        State.ACCEPTED: Role.SCHEDULER,
        State.SCHEDULED: Role.SCHEDULER,
        State.NO_SHOW: Role.SCHEDULER,
        State.COMPLETED: Role.CARE_TEAM,
    }[s.referral.state]
    at = min(s.world.now, s.t + dt.timedelta(minutes=s.rng.uniform(1, 90)))
    s.assign(s.user(role), at, s.user(Role.INTAKE))


def _speed(s: Story) -> float:
    """How much faster urgent and stat work moves."""
    return {Priority.ROUTINE: 1.0, Priority.URGENT: 0.45, Priority.STAT: 0.15}[s.referral.priority]


def _intake(s: Story) -> None:
    rng, referral, t0 = s.rng, s.referral, s.referral.received_at
    intake, triage = s.user(Role.INTAKE), s.user(Role.TRIAGE)
    electronic = referral.channel in ELECTRONIC_CHANNELS
    present = {kind for _, kind in s.line.checklist if rng.random() > 0.33}
    s.receive(present=present, actor=None if electronic else intake)

    agenda: list = []
    if electronic and rng.random() < 0.7:  # the sending system gets an automatic answer
        at = t0 + dt.timedelta(minutes=rng.uniform(1, 10))
        agenda.append((at, partial(s.milestone, Milestone.ACKNOWLEDGED, at, None)))
    elif rng.random() < 0.88:
        at = s.work(t0, s.lognormal(3.0 * _speed(s), 1.0))
        agenda.append((at, partial(s.milestone, Milestone.ACKNOWLEDGED, at, intake)))
    if referral.referring_clinician is None and rng.random() < 0.95:
        at = s.work(t0, s.lognormal(4.0, 0.8))
        note = "Checked against the NPI registry"
        agenda.append(
            (at, partial(s.blocker_resolve, BlockerKind.REFERRER_NOT_VERIFIED, at, intake, note))
        )
    handoff = s.work(t0, s.lognormal(2.0 * _speed(s), 0.8))

    roll = rng.random()
    if roll < 0.02:  # ended at the door: entered in error, withdrawn, declined by the patient
        reason = weighted(rng, AT_THE_DOOR)
        agenda.append((handoff, partial(s.cancel, reason, handoff, intake)))
        s.run(agenda)
        return
    if roll < 0.032:  # obviously meant for another service line
        reason = RedirectReason.OTHER_SERVICE_LINE
        agenda.append(
            (handoff, partial(s.transition, State.REDIRECTED, handoff, triage, reason=reason))
        )
        s.run(agenda)
        return
    agenda.append((handoff, partial(s.transition, State.TRIAGE, handoff, intake)))

    records = _records_plan(s, t0)
    agenda += records.steps
    decision = s.work(handoff, s.lognormal(6.0 * _speed(s), 0.9))
    if records.done_at and rng.random() < 0.8:  # triage mostly waits for the records
        decision = max(decision, s.work(records.done_at, s.lognormal(2.0 * _speed(s), 0.7)))
    if rng.random() < 0.08:  # triage asks the referrer a question
        asked = s.work(handoff, s.lognormal(3.0 * _speed(s), 0.7))
        note = "Asked the referrer for details"
        agenda.append(
            (asked, partial(s.blocker_open, BlockerKind.INFO_REQUESTED, asked, triage, note))
        )
        if rng.random() < 0.85:
            answered = s.work(asked, s.lognormal(16.0, 0.8))
            note = "Referrer answered"
            agenda.append(
                (
                    answered,
                    partial(s.blocker_resolve, BlockerKind.INFO_REQUESTED, answered, intake, note),
                )
            )
            decision = max(decision, s.work(answered, s.lognormal(2.0, 0.7)))
        else:
            records.lapse_at = records.lapse_at or s.work(asked, rng.uniform(60, 120))
    if records.lapse_at and records.lapse_at < decision:
        lapse_at = records.lapse_at
        agenda = [(at, step) for at, step in agenda if at <= lapse_at]
        agenda.append((lapse_at, partial(s.cancel, _lapse_reason(rng), lapse_at, intake)))
        s.run(agenda)
        return
    later = [(at, step) for at, step in agenda if at > decision]
    agenda = [(at, step) for at, step in agenda if at <= decision]
    agenda.append((decision, partial(_triage_decide, s, decision)))
    s.run(agenda)
    if s.referral.state == State.ACCEPTED:
        _access(s, later, records)


AT_THE_DOOR = (
    (CancelReason.ENTERED_IN_ERROR, 0.4),
    (CancelReason.REFERRER_WITHDREW, 0.3),
    (CancelReason.PATIENT_DECLINED, 0.3),
)


def _lapse_reason(rng: random.Random) -> str:
    return weighted(
        rng, ((CancelReason.REFERRER_WITHDREW, 0.5), (CancelReason.SEEN_ELSEWHERE, 0.5))
    )


@dataclass
class RecordsPlan:
    """When the missing documents are asked for, arrive or are waived, and whether they lapse."""

    steps: list[tuple[dt.datetime, object]] = field(default_factory=list)
    done_at: dt.datetime | None = None
    lapse_at: dt.datetime | None = None


def _records_plan(s: Story, t0: dt.datetime) -> RecordsPlan:
    plan = RecordsPlan()
    missing = [item for item in s.checklist if item["status"] == ChecklistStatus.REQUIRED]
    if not missing:
        return plan
    rng, intake = s.rng, s.user(Role.INTAKE)
    asked = s.work(t0, rng.uniform(0.5, 4.0))
    requested = ChecklistStatus.REQUESTED
    for item in missing:
        plan.steps.append(
            (asked, partial(s.checklist_set, item, requested, asked, intake, claim=True))
        )
    arrivals = []
    for item in missing:
        if rng.random() < 0.8:
            at = s.work(asked, s.lognormal(18.0, 1.0))
            arrivals.append(at)
            plan.steps.append((at, partial(s.document_add, item["document_kind"], at, intake)))
        else:
            arrivals.append(None)
    if all(arrivals):
        plan.done_at = max(arrivals)
    elif rng.random() < 0.65:  # intake decides the visit can go ahead without them
        waived = s.work(asked, rng.uniform(40, 80))
        status = ChecklistStatus.WAIVED
        for item, arrived in zip(missing, arrivals, strict=True):
            if arrived is None:
                step = partial(s.checklist_set, item, status, waived, intake, claim=True)
                plan.steps.append((waived, step))
        plan.done_at = max([waived] + [a for a in arrivals if a])
    else:
        plan.lapse_at = s.work(asked, rng.uniform(60, 120))
    return plan


def _triage_decide(s: Story, at: dt.datetime) -> None:
    rng, triage = s.rng, s.user(Role.TRIAGE)
    spec = s.line.spec
    roll = rng.random()
    if s.patient.plan and s.patient.plan not in s.line.plans_accepted and roll < 0.85:
        if roll < 0.6:
            s.transition(State.DECLINED, at, triage, reason=DeclineReason.INSURANCE)
        else:
            s.transition(State.REDIRECTED, at, triage, reason=RedirectReason.OTHER_PROVIDER)
        return
    if roll < spec.decline_share:
        s.transition(State.DECLINED, at, triage, reason=weighted(rng, DECLINE_REASONS))
        if rng.random() < 0.07:  # the referrer sends more, triage looks again and accepts
            again = s.work(at, s.lognormal(40.0, 0.8))
            s.transition(State.TRIAGE, again, triage, details={"reconsidered": True})
            s.transition(State.ACCEPTED, s.work(again, s.lognormal(4.0, 0.7)), triage)
        return
    if roll < spec.decline_share + spec.redirect_share:
        s.transition(State.REDIRECTED, at, triage, reason=weighted(rng, REDIRECT_REASONS))
        return
    if roll < spec.decline_share + spec.redirect_share + 0.015:
        s.cancel(CancelReason.REFERRER_WITHDREW, at, s.user(Role.INTAKE))
        return
    s.transition(State.ACCEPTED, at, triage)


def _access(s: Story, later: list, records: RecordsPlan) -> None:
    """From accepted to a visit: authorization, reaching the patient, booking, the visit."""
    rng, accepted = s.rng, s.t
    scheduler = s.user(Role.SCHEDULER)
    interpreter = s.patient.interpreter
    agenda = list(later)
    ready = max(records.done_at or accepted, accepted)
    if records.lapse_at:  # the records never came and nobody waived them
        lapse_at = max(records.lapse_at, accepted)
        agenda.append((lapse_at, partial(s.cancel, _lapse_reason(rng), lapse_at, scheduler)))
        s.run(agenda)
        return

    authorization = _authorization(s, accepted)
    if authorization and rng.random() < s.line.spec.authorization_share:
        opened = s.work(accepted, rng.uniform(0.2, 2.0))
        agenda.append((opened, partial(_authorization_submitted, s, authorization, opened)))
        decided = s.work(opened, s.lognormal(20.0 * max(_speed(s), 0.3), 0.8))
        approved = rng.random() < 0.93
        agenda.append(
            (decided, partial(_authorization_decided, s, decided, approved, authorization))
        )
        if not approved:
            denied = s.work(decided, rng.uniform(0.5, 4.0))
            reason = CancelReason.INSURANCE_DENIED
            agenda.append((denied, partial(s.cancel, reason, denied, scheduler)))
            s.run(agenda)
            return
        ready = max(ready, decided)
    elif authorization:
        # The referring office had it approved already (the number came with the referral).
        _authorization_approved(authorization, accepted)

    # Reaching the patient: some take several attempts; a few are never reached.
    if rng.random() < 0.3 + (0.15 if interpreter else 0.0):
        missed = s.work(accepted, rng.uniform(2.0, 6.0) * _speed(s))
        kind, note = BlockerKind.PATIENT_NOT_REACHED, "Left a voicemail"
        agenda.append((missed, partial(s.blocker_open, kind, missed, scheduler, note)))
        if rng.random() < 0.16 + (0.08 if interpreter else 0.0):  # never reached
            gave_up = s.work(missed, rng.uniform(60, 120))
            reason = CancelReason.UNABLE_TO_REACH
            agenda.append((gave_up, partial(s.cancel, reason, gave_up, scheduler)))
            s.run(agenda)
            return
        reached = s.work(missed, s.lognormal(14.0, 0.8))
    else:
        hours = s.lognormal(8.0 * _speed(s), 0.9) * (1.7 if interpreter else 1.0)
        reached = s.work(accepted, hours)
    if rng.random() < 0.045:  # the patient does not want to go ahead
        declined_at = reached + dt.timedelta(minutes=rng.uniform(1, 15))
        reason = CancelReason.PATIENT_DECLINED
        agenda.append((reached, partial(_reach, s, reached, first_contact=True)))
        agenda.append((declined_at, partial(s.cancel, reason, declined_at, scheduler)))
        s.run(agenda)
        return
    same_call = reached >= ready and rng.random() < 0.55
    if same_call:
        book_at = reached
        agenda.append((reached, partial(_reach, s, reached, first_contact=False)))
    else:
        agenda.append((reached, partial(_reach, s, reached, first_contact=True)))
        book_at = s.work(max(reached, ready), s.lognormal(3.0 * _speed(s), 0.8))
    agenda.append((book_at, partial(_book, s, book_at)))
    s.run(agenda)
    _visit(s)


def _authorization(s: Story, accepted: dt.datetime) -> dict | None:
    """access.authorization_start, as the scheduler runs it on acceptance: the line's payer
    rules (demo.operations) require one for plans that need it, on lines that ask for any."""
    coverage = s.patient.coverage
    required = bool(s.patient.needs_authorization and s.line.spec.authorization_share)
    row = {
        "referral_id": s.referral.pk,
        "status": AuthorizationStatus.TO_REQUEST if required else AuthorizationStatus.NOT_REQUIRED,
        "payer": coverage["payer"] if coverage else "",
        "created_at": accepted,
    }
    s.authorizations.append(row)
    return row if required else None


def _authorization_submitted(s: Story, row: dict, at: dt.datetime) -> None:
    s.blocker_open(BlockerKind.AUTHORIZATION_PENDING, at, s.user(Role.SCHEDULER))
    hours = s.line.row.authorization_target_hours
    row.update(
        status=AuthorizationStatus.SUBMITTED,
        submitted_at=at,
        due_at=s.world.program.calendar.add(at, hours * 3600),
    )
    row["next_check_at"] = row["due_at"]


def _authorization_approved(row: dict, at: dt.datetime) -> None:
    valid_from = timezone.localdate(at)
    row.update(
        status=AuthorizationStatus.APPROVED,
        number=f"PA{row['referral_id']:08d}",
        valid_from=valid_from,
        valid_to=valid_from + AUTHORIZATION_VALID,
        decided_at=at,
        next_check_at=authorization_expires_at(valid_from + AUTHORIZATION_VALID),
    )


def _authorization_settle(row: dict, referral: Referral, now: dt.datetime) -> None:
    """What the scheduler's expiry check (access.authorization_expire) made of an approval whose
    validity ran out before today: kept if the visit happened or is booked inside it, expired if
    the referral ended without one. An open referral's is left for the scheduler to decide."""
    expires_at = row.get("next_check_at")
    if row["status"] != AuthorizationStatus.APPROVED or expires_at is None or expires_at > now:
        return
    if referral.completed_at is not None or (
        referral.state == State.SCHEDULED
        and referral.appointment_at
        and row["valid_from"] <= timezone.localdate(referral.appointment_at) <= row["valid_to"]
    ):
        row["next_check_at"] = None
    elif not referral.is_open:
        row.update(status=AuthorizationStatus.EXPIRED, expired_at=expires_at, next_check_at=None)


def _authorization_decided(s: Story, at: dt.datetime, approved: bool, row: dict) -> None:
    scheduler, decision = s.user(Role.SCHEDULER), "approved" if approved else "denied"
    s.milestone(Milestone.AUTHORIZATION_DECIDED, at, scheduler, {"decision": decision})
    s.blocker_resolve(BlockerKind.AUTHORIZATION_PENDING, at, scheduler, decision)
    if approved:
        _authorization_approved(row, at)
    else:
        row.update(
            status=AuthorizationStatus.DENIED,
            denial_reason="Not medically necessary per the payer's criteria",
            decided_at=at,
            next_check_at=None,
        )


def _reach(s: Story, at: dt.datetime, *, first_contact: bool) -> None:
    scheduler = s.user(Role.SCHEDULER)
    if first_contact:
        s.milestone(Milestone.FIRST_CONTACT, at, scheduler)
    s.blocker_resolve(BlockerKind.PATIENT_NOT_REACHED, at, scheduler, "Reached the patient")


def _wait_days(s: Story, factor: float = 1.0) -> float:
    """Days to the first slot: log-normal around the line's mean (see the module docstring)."""
    spec = s.line.spec
    if s.referral.priority == Priority.STAT:
        return s.rng.uniform(0.05, 1.0)
    mean = spec.wait_days * (0.22 if s.referral.priority == Priority.URGENT else 1.0) * factor
    sigma = 0.55
    return max(0.5, s.lognormal(mean / math.exp(sigma * sigma / 2), sigma))


def _slot(s: Story, after: dt.datetime, days: float) -> dt.datetime:
    """An appointment slot `days` after booking: stat any hour, others on a business day."""
    if s.stat:
        return after + dt.timedelta(days=days)
    calendar = s.world.program.calendar
    day = (after + dt.timedelta(days=days)).astimezone(calendar.tz).date()
    while not calendar.is_business_day(day):
        day += dt.timedelta(days=1)
    minutes = 8 * 60 + 15 * s.rng.randrange(33)  # 8:00 to 16:00 in quarter hours
    slot = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), calendar.tz)
    return slot if slot > after else after + dt.timedelta(hours=2)


def _book(s: Story, at: dt.datetime, factor: float = 1.0) -> None:
    s.wait = _wait_days(s, factor)
    s.appointment_book(_slot(s, at, s.wait), at, s.user(Role.SCHEDULER))


def _visit(s: Story) -> None:
    """From booked to seen: rebookings, cancellations, no-shows; then the report."""
    rng, scheduler = s.rng, s.user(Role.SCHEDULER)
    no_shows = 0
    while True:
        booked_at, starts_at, wait = s.t, s.referral.appointment_at, s.wait
        before = rng.random()
        if before < 0.03 + 0.0015 * wait:  # care elsewhere or changed their mind
            at = booked_at + (starts_at - booked_at) * rng.uniform(0.1, 0.9)
            at = s.work(at, 0.1)
            reason = (
                CancelReason.SEEN_ELSEWHERE if rng.random() < 0.5 else CancelReason.PATIENT_DECLINED
            )
            s.cancel(reason, at, scheduler)
            return
        if before < 0.13 + 0.0015 * wait:  # the patient asks for another date
            at = s.work(booked_at + (starts_at - booked_at) * rng.uniform(0.1, 0.8), 0.1)
            _book(s, at, factor=0.5)
            continue
        if before < 0.16 + 0.0015 * wait:  # the clinic cancels the slot; booked again soon
            at = s.work(booked_at + (starts_at - booked_at) * rng.uniform(0.1, 0.8), 0.1)
            s.appointment_outcome(Appointment.Outcome.CANCELLED, at, scheduler)
            _book(s, s.work(at, s.lognormal(4.0, 0.7)), factor=0.5)
            continue
        miss = (
            0.06
            + 0.0025 * min(wait, 60)
            + (0.12 if s.patient.prone_to_miss else 0.0)
            + (0.03 if s.patient.interpreter else 0.0)
            + 0.10 * no_shows
        )
        if rng.random() < miss:
            no_shows += 1
            at = starts_at + dt.timedelta(minutes=rng.uniform(15, 40))
            s.appointment_outcome(Appointment.Outcome.NO_SHOW, at, scheduler)
            if no_shows >= 2 and rng.random() < 0.7:
                s.cancel(CancelReason.NO_SHOW_LIMIT, s.work(at, rng.uniform(8, 40)), scheduler)
                return
            if rng.random() < 0.6:
                _book(s, s.work(at, s.lognormal(8.0, 0.8)), factor=0.6)
                continue
            reason = weighted(
                rng,
                (
                    (CancelReason.UNABLE_TO_REACH, 0.5),
                    (CancelReason.PATIENT_DECLINED, 0.3),
                    (CancelReason.NO_SHOW_LIMIT, 0.2),
                ),
            )
            s.cancel(reason, s.work(at, rng.uniform(24, 80)), scheduler)
            return
        done = starts_at + dt.timedelta(minutes=rng.uniform(20, 75))
        s.appointment_outcome(Appointment.Outcome.ATTENDED, done, scheduler)
        _report(s)
        return


def _report(s: Story) -> None:
    rng, care_team = s.rng, s.user(Role.CARE_TEAM)
    if rng.random() < 0.005:  # never sent: it stays on the worklist, breached
        return
    hours = s.lognormal(10.0 * max(_speed(s), 0.3), 1.0)
    if rng.random() < 0.10:  # dictated late, or lost in the signing queue
        hours += rng.uniform(40, 200)
    sent = s.work(s.t, hours)
    clinician = s.referral.referring_clinician
    channel = clinician.preferred_update_channel if clinician else "fax"
    s.report_send(channel, sent, care_team)
    confirmed = {"direct": 0.85, "ehr": 0.85, "portal": 0.85, "fax": 0.7}.get(channel, 0.0)
    if rng.random() < confirmed:
        delivered = sent + dt.timedelta(minutes=rng.uniform(1, 30))
        s.milestone(Milestone.REPORT_DELIVERED, delivered, None, {"channel": channel})
        s.reports[-1]["delivered_at"] = s.t  # the milestone's time, as recorded
        if channel != "fax" and rng.random() < 0.3:
            read = delivered + dt.timedelta(hours=s.lognormal(20.0, 1.0))
            s.milestone(Milestone.REPORT_ACKNOWLEDGED, read, None)
            s.reports[-1]["acknowledged_at"] = s.t
