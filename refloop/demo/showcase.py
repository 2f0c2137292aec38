"""The demo's showcase referral: one referral's whole journey over the last three weeks, told
through the real services and the real scheduler, in simulated time.

A fax referral arrives with records missing; intake asks the referrer for them and the scheduler
asks again; the records come; triage accepts; the visit is booked from the calendar's free slots
and the patient gets instructions and reminders; the patient misses the visit and is rebooked in
one step; confirms by the link in the reminder; is seen; the care team writes the consult report,
which goes to the referrer as a PDF by fax; the fax is confirmed delivered and the referrer
acknowledges it by the link on the report. Between the steps the scheduler runs as it does in
production (three passes a day here, every few seconds in life): status updates to the referrer,
re-asks, reminders, messages sent, clock alerts — nobody presses a button for those.

Simulated time: `django.utils.timezone.now` (and the event's recorded_at default) answer the
story's clock while it runs, so every service and job sees the moment it would have run at.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from contextlib import contextmanager
from dataclasses import dataclass
from unittest import mock

from django.utils import timezone

from refloop.access.models import Appointment
from refloop.access.queries import free_slots
from refloop.access.services import (
    appointment_book,
    appointment_no_show_rebook,
    appointment_record_outcome,
    patient_link_use,
)
from refloop.cli.management.commands.refloop_scheduler import scheduler_jobs, scheduler_pass
from refloop.core.calendar import practice_calendar
from refloop.demo.files import pdf_bytes
from refloop.directory.enums import DocumentKind, OrganizationKind, UpdateChannel
from refloop.directory.models import Clinician, ServiceLine
from refloop.loop.services import (
    consult_report_save,
    consult_report_send,
    records_request,
    report_acknowledge_by_link,
    report_delivered,
)
from refloop.messaging.models import OutboundMessage
from refloop.referrals.enums import Channel, Milestone, State
from refloop.referrals.models import ReferralEvent
from refloop.referrals.services import (
    IncomingDocument,
    PatientData,
    ReferralSubmission,
    ReferrerData,
    document_add,
    milestone_record,
    referral_receive,
    referral_transition,
)

SHOWCASE_REFERENCE = "showcase-1"
# What the orthopedics checklist asks for beyond the referral letter that came with the fax.
MISSING_RECORDS = (
    (DocumentKind.NOTES, "Clinic notes"),
    (DocumentKind.IMAGING, "MRI report"),
    (DocumentKind.INSURANCE_CARD, "Insurance card"),
)
LINE = "orthopedics"
PASS_HOURS = (9, 13, 17)  # the scheduler's passes in the story (every few seconds in life)


class StoryEnd(Exception):
    """The story reached the present: what is left of it has not happened yet."""


class Clock:
    def __init__(self, at: dt.datetime):
        self.at = at

    def now(self) -> dt.datetime:
        return self.at


@contextmanager
def simulated_time(start: dt.datetime):
    clock = Clock(start)
    recorded_at = ReferralEvent._meta.get_field("recorded_at")
    # Field.get_default caches the callable it found; forget it on the way in and out.
    recorded_at.__dict__.pop("_get_default", None)
    try:
        with (
            mock.patch("django.utils.timezone.now", clock.now),
            mock.patch.object(recorded_at, "default", clock.now),
        ):
            yield clock
    finally:
        recorded_at.__dict__.pop("_get_default", None)


@dataclass
class Showcase:
    referral_id: int
    steps: list[str]


def showcase_run(
    *, users: dict, today: dt.date | None = None, end: dt.datetime | None = None
) -> Showcase | None:
    """Tell the story, ending a few days before `today` and never after `end` (now). Does
    nothing if it was told already."""
    from refloop.referrals.models import Referral

    if Referral.objects.filter(sender_reference=SHOWCASE_REFERENCE).exists():
        return None
    story = Story(users=users, today=today or timezone.localdate(), end=end or timezone.now())
    with simulated_time(story.moment(0, "08:00")) as clock:
        story.clock = clock
        with contextlib.suppress(StoryEnd):
            story.tell()
    return Showcase(referral_id=story.referral_id, steps=story.log)


class Story:
    def __init__(self, *, users: dict, today: dt.date, end: dt.datetime):
        self.users = users
        self.calendar = practice_calendar()
        self.start = self._business_days_back(today, 17)
        self.line = ServiceLine.objects.get(code=LINE)
        self.end = end
        self.log: list[str] = []
        self.referral_id = 0
        self.clock: Clock

    # Time (passes run every day: the scheduler never sleeps, texts keep to quiet hours) -------

    def _business_days_back(self, day: dt.date, count: int) -> dt.date:
        while count:
            day -= dt.timedelta(days=1)
            count -= self.calendar.is_business_day(day)
        return day

    def day(self, n: int) -> dt.date:
        """The n-th business day of the story."""
        day = self.start
        while n:
            day += dt.timedelta(days=1)
            n -= self.calendar.is_business_day(day)
        return day

    def index_of(self, day: dt.date) -> int:
        n = 0
        while self.day(n) < day:
            n += 1
        return n

    def moment(self, n: int, hhmm: str) -> dt.datetime:
        time = dt.time.fromisoformat(hhmm)
        return timezone.make_aware(dt.datetime.combine(self.day(n), time))

    def until(self, at: dt.datetime) -> None:
        """Move the clock to `at`, running the scheduler's passes due on the way."""
        jobs = scheduler_jobs()
        day = self.clock.at.date()
        while day <= at.date():
            for hour in PASS_HOURS:
                moment = timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))
                if self.clock.at < moment <= at:
                    self.clock.at = moment
                    scheduler_pass(jobs, {}, force=True)
            day += dt.timedelta(days=1)
        self.clock.at = at

    def step(self, n: int, hhmm: str, text: str) -> None:
        self.at(self.moment(n, hhmm), text)

    def at(self, moment: dt.datetime, text: str) -> None:
        if moment > self.end:
            raise StoryEnd  # the rest has not happened yet
        self.until(max(moment, self.clock.at))
        self.log.append(f"{timezone.localtime(self.clock.at):%a %b %-d %H:%M}  {text}")

    # The story --------------------------------------------------------------------------------

    def tell(self) -> None:
        u = self.users
        self.step(0, "09:10", "Fax referral received; clinical notes and imaging missing.")
        referral = referral_receive(submission=self.submission(), actor=u["intake"]).referral
        self.referral_id = rid = referral.pk
        self.step(0, "09:40", "Intake asks the referrer for the missing records (fax).")
        records_request(referral_id=rid, actor=u["intake"])
        self.step(1, "09:30", "Intake acknowledges the referral.")
        milestone_record(referral_id=rid, milestone=Milestone.ACKNOWLEDGED, actor=u["intake"])
        self.step(3, "10:20", "The referrer's office faxes the missing records.")
        for kind, title in MISSING_RECORDS:
            document_add(referral_id=rid, incoming=self.document(kind, title), actor=u["intake"])
        self.step(3, "11:00", "Sent to triage.")
        referral_transition(referral_id=rid, to_state=State.TRIAGE, actor=u["intake"])
        # Triage is a day late: the scheduler alerts at risk, then overdue, on its own.
        self.step(5, "11:30", "Triage accepts, after the scheduler's at-risk and overdue alerts.")
        referral_transition(referral_id=rid, to_state=State.ACCEPTED, actor=u["triage"])
        self.step(5, "13:05", "Scheduler books the first free new-consult slot (day 9 or later).")
        first = self.free_slot(not_before=self.day(9))
        appointment_book(referral_id=rid, slot_id=first.pk, actor=u["scheduler"])
        self.at(first.ends_at + dt.timedelta(minutes=30), "No-show; rebooked in one step.")
        second = self.free_slot(not_before=self.day(13))
        appointment_no_show_rebook(referral_id=rid, slot_id=second.pk, actor=u["scheduler"])
        visit = self.index_of(timezone.localdate(second.starts_at))
        reminded = timezone.localtime(second.starts_at) - dt.timedelta(days=2)
        self.at(reminded.replace(hour=14, minute=15), "Patient confirms by the reminder's link.")
        patient_link_use(token=self.patient_token(rid), choice="confirm")
        self.at(second.starts_at + dt.timedelta(minutes=50), "Visit attended.")
        appointment_record_outcome(
            referral_id=rid, outcome=Appointment.Outcome.ATTENDED, actor=u["scheduler"]
        )
        self.step(visit + 1, "15:00", "The care team writes the consult report from the template.")
        consult_report_save(referral_id=rid, texts=REPORT_TEXTS, actor=u["care_team"])
        self.step(visit + 1, "15:20", "Report sent: PDF by fax, the referrer's channel. Closed.")
        sent = consult_report_send(referral_id=rid, actor=u["care_team"])
        self.step(visit + 1, "16:05", "Fax confirmation: delivered.")
        report_delivered(report_sent_id=sent.pk, at=self.clock.at, actor=u["care_team"])
        self.step(
            visit + 2, "09:35", "The referrer acknowledges the report by the link on the fax."
        )
        report_acknowledge_by_link(token=self.ack_token(rid))
        self.until(self.moment(visit + 2, "17:30"))

    def submission(self) -> ReferralSubmission:
        referrer = self.referrer()
        return ReferralSubmission(
            patient=PatientData(
                first_name="Marisol",
                last_name="Showcase",
                birth_date=dt.date(1968, 3, 14),
                sex="female",
                mrn="SHOW0001",
                phone="(216) 555-0199",
                email="marisol.showcase@example.net",
                preferred_language="English",
                sms_consent=True,
                email_consent=True,
                payer="Medicare",
                plan="Original Medicare Part B",
                member_id="MCR100200300",
            ),
            referrer=ReferrerData(clinician_id=referrer.pk),
            service_line_id=self.line.pk,
            reason="Right knee pain for eight months; failed physiotherapy; locking episodes.",
            channel=Channel.FAX,
            diagnoses=("M23.91",),
            sender_system="demo-fax",
            sender_reference=SHOWCASE_REFERENCE,
            documents=(self.document(DocumentKind.REFERRAL_LETTER, "Referral letter"),),
        )

    def referrer(self) -> Clinician:
        """A verified demo referrer who takes updates by fax."""
        clinician = (
            Clinician.objects.filter(
                npi__isnull=False, roles__organization__kind=OrganizationKind.REFERRING_PRACTICE
            )
            .exclude(fax="")
            .order_by("pk")
            .first()
        ) or Clinician.objects.filter(npi__isnull=False).order_by("pk").first()
        clinician.preferred_update_channel = UpdateChannel.FAX
        clinician.fax = clinician.fax or "(216) 555-0142"
        clinician.updates_as_digest = False
        clinician.save(update_fields=["preferred_update_channel", "fax", "updates_as_digest"])
        return clinician

    def document(self, kind: str, title: str) -> IncomingDocument:
        content = pdf_bytes(title, ["Synthetic demo document.", "No real patient."])
        return IncomingDocument(kind=kind, filename=f"{kind}.pdf", content=content, title=title)

    def free_slot(self, *, not_before: dt.date):
        from refloop.referrals.models import Referral

        referral = Referral.objects.get(pk=self.referral_id)
        for slot in free_slots(referral=referral, limit=200):
            local = timezone.localtime(slot.starts_at)
            if local.date() >= not_before and local.hour >= 9:
                return slot
        raise RuntimeError("The demo calendar has no free slot for the showcase.")

    def patient_token(self, referral_id: int) -> str:
        return _token(referral_id, r"/p/([\w-]+)/", purpose="reminder")

    def ack_token(self, referral_id: int) -> str:
        return _token(referral_id, r"/r/ack/([\w-]+)/", purpose="report")


def _token(referral_id: int, pattern: str, *, purpose: str) -> str:
    """The link as the recipient reads it in the message they got."""
    message = (
        OutboundMessage.objects.filter(referral_id=referral_id, purpose=purpose)
        .order_by("-created_at", "-id")
        .first()
    )
    match = re.search(pattern, message.body if message else "")
    if not match:
        raise RuntimeError(f"No {purpose} message with a link for the showcase.")
    return match.group(1)


REPORT_TEXTS = {
    "findings": (
        "Eight months of right knee pain with locking. Effusion, medial joint line tenderness, "
        "positive McMurray test. MRI: complex tear of the posterior horn of the medial meniscus, "
        "no significant osteoarthritis."
    ),
    "recommendations": (
        "Arthroscopic partial medial meniscectomy offered and accepted. Continue quadriceps "
        "strengthening until surgery."
    ),
    "next_steps": (
        "Surgery to be booked within four weeks; pre-operative assessment at our clinic. We will "
        "send the operative note and see the patient two weeks after surgery."
    ),
    "whom_to_call": "Orthopedics referral line (216) 555-0110.",
}
