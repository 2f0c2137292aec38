"""What a person can do on the referral page, declared once.

Each action says when it is offered (this state, this role) and which service it calls. The page
shows only the allowed ones; the POST handler checks the same rule, then the service checks again
inside its transaction (state, permission and the version the form was built on).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction

from refloop.access.models import Appointment, ContactChannel, ContactOutcome
from refloop.access.models.authorization import PENDING as AUTHORIZATION_PENDING
from refloop.access.models.authorization import RESUBMITTABLE as AUTHORIZATION_RESUBMITTABLE
from refloop.access.models.contact import CHANNEL_OUTCOMES
from refloop.access.services import (
    appointment_book,
    appointment_no_show_rebook,
    appointment_record_outcome,
    authorization_approve,
    authorization_deny,
    authorization_start,
    authorization_submit,
    contact_attempt_record,
    instructions_letter_make,
    referral_cancel,
    waitlist_join,
    waitlist_leave,
)
from refloop.access.services.authorization import STARTABLE_STATES as AUTHORIZATION_STATES
from refloop.directory.enums import DocumentKind, OrganizationKind
from refloop.directory.models import Clinician, ServiceLine
from refloop.loop.models import ConsultReport, ReportSent
from refloop.loop.services import (
    consult_report_send,
    followup_set,
    records_request,
    report_acknowledged_record,
    report_delivered,
    report_send,
)
from refloop.referrals.enums import (
    CHECKLIST_DONE,
    TRANSITIONS,
    BlockerKind,
    CancelReason,
    ChecklistStatus,
    DeclineReason,
    Milestone,
    RedirectReason,
    State,
)
from refloop.referrals.models import Referral
from refloop.referrals.services import (
    blocker_open,
    blocker_resolve,
    checklist_item_set,
    document_add,
    event_correct,
    milestone_record,
    note_add,
    referral_assign,
    referral_redirect,
    referral_transition,
    transition_permissions,
)
from refloop.referrals.services.lifecycle import MILESTONE_PERMISSION
from refloop.web.forms import (
    DATE_INPUT,
    DATETIME_INPUT,
    ClinicianChoiceField,
    PersonChoiceField,
    incoming_from_upload,
)

# Forms ----------------------------------------------------------------------------------------


class ActionForm(forms.Form):
    # The version of the referral the person was looking at: a stale one is refused (Conflict).
    version = forms.IntegerField(widget=forms.HiddenInput)


class WhenForm(ActionForm):
    occurred_at = forms.DateTimeField(
        required=False,
        widget=DATETIME_INPUT,
        label="When",
        help_text="Leave empty for now.",
    )
    note = forms.CharField(required=False, max_length=500, label="Note")


def _reason_form(reasons, *, with_line: bool = False):
    class ReasonForm(WhenForm):
        reason = forms.ChoiceField(choices=[("", "Choose a reason"), *reasons.choices])
        field_order = ["reason", "service_line", "note", "occurred_at"]

        if with_line:
            service_line = forms.ModelChoiceField(
                required=False,
                queryset=ServiceLine.objects.filter(active=True).only("id", "name", "code"),
                label="To service line",
            )

            def clean(self):
                data = super().clean()
                if data.get("reason") == RedirectReason.OTHER_SERVICE_LINE and not data.get(
                    "service_line"
                ):
                    self.add_error("service_line", "Choose the service line it goes to.")
                return data

    return ReasonForm


class BookForm(ActionForm):
    """A free slot of the calendar (radio choices the booking template lists), or a time typed
    in by hand where the line allows it; the service checks which."""

    slot = forms.IntegerField(required=False, widget=forms.HiddenInput)
    starts_at = forms.DateTimeField(
        required=False, widget=DATETIME_INPUT, label="Appointment date and time"
    )
    clinician = ClinicianChoiceField(
        required=False, queryset=Clinician.objects.none(), empty_label="Any clinician"
    )
    location = forms.CharField(required=False, max_length=200)
    override_authorization = forms.BooleanField(
        required=False, label="Book anyway (I have checked the authorization problem)"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinician"].queryset = (
            Clinician.objects.filter(roles__organization__kind=OrganizationKind.OWN_FACILITY)
            .distinct()
            .only("id", "first_name", "last_name", "credentials", "npi")
            .order_by("last_name", "first_name")
        )

    def clean(self):
        data = super().clean()
        if data.get("slot") and data.get("starts_at"):
            raise ValidationError("Choose a free slot or enter a time, not both.")
        if not data.get("slot") and not data.get("starts_at") and not self.errors:
            raise ValidationError("Choose a free slot or enter a time.")
        return data


class OutcomeForm(ActionForm):
    outcome = forms.ChoiceField(
        choices=[
            (Appointment.Outcome.ATTENDED, "Attended (visit completed)"),
            (Appointment.Outcome.NO_SHOW, "No-show"),
            (Appointment.Outcome.CANCELLED, "Appointment cancelled (back to accepted)"),
        ],
        widget=forms.RadioSelect,
    )
    occurred_at = forms.DateTimeField(
        required=False,
        widget=DATETIME_INPUT,
        label="When",
        help_text="Leave empty: the appointment's time (or now, for a cancellation).",
    )


class ReportForm(ActionForm):
    file = forms.FileField(label="Consult report (PDF, TIFF, PNG or JPEG)")
    # How the report went when it was sent outside Refloop (faxed from the clinic, sent through
    # the EHR). Not the referring-office portal: it comes with issue 4.
    channel = forms.ChoiceField(
        choices=[c for c in ReportSent.Channel.choices if c[0] != ReportSent.Channel.PORTAL],
        label="Sent by",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        self.incoming = incoming_from_upload(upload, DocumentKind.REPORT)
        return upload


class DocumentForm(ActionForm):
    file = forms.FileField(label="Document (PDF, TIFF, PNG or JPEG)")
    kind = forms.ChoiceField(choices=[(k, k.label) for k in DocumentKind])

    def clean(self):
        data = super().clean()
        if data.get("file") and data.get("kind"):
            try:
                self.incoming = incoming_from_upload(data["file"], data["kind"])
            except ValidationError as exc:
                self.add_error("file", exc)
        return data


class AssignOneForm(ActionForm):
    assignee = PersonChoiceField(required=False, queryset=None, empty_label="Nobody (unassign)")

    def __init__(self, *args, **kwargs):
        from refloop.core.queries import people_who_see_phi

        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = people_who_see_phi()


class BlockerOpenForm(ActionForm):
    kind = forms.ChoiceField(choices=BlockerKind.choices)
    note = forms.CharField(required=False, max_length=300)


class BlockerResolveForm(ActionForm):
    kind = forms.ChoiceField(choices=BlockerKind.choices, widget=forms.HiddenInput)
    note = forms.CharField(required=False, max_length=300)


class ChecklistForm(ActionForm):
    item = forms.IntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(choices=ChecklistStatus.choices)


class NoteForm(ActionForm):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label="")


class CorrectForm(ActionForm):
    event = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(max_length=500, label="What was wrong")


class WaitlistJoinForm(ActionForm):
    wants_before = forms.DateField(
        required=False,
        widget=DATE_INPUT,
        label="Only slots before",
        help_text="Leave empty: any slot earlier than the booked visit.",
    )


class ReportSentForm(ActionForm):
    report_sent = forms.IntegerField(widget=forms.HiddenInput)
    occurred_at = forms.DateTimeField(
        required=False, widget=DATETIME_INPUT, label="When", help_text="Leave empty for now."
    )


class FollowUpForm(ActionForm):
    item = forms.IntegerField(widget=forms.HiddenInput)
    done = forms.TypedChoiceField(
        choices=[("1", "Done"), ("0", "Not done")], coerce=lambda v: v == "1"
    )


# Rules ----------------------------------------------------------------------------------------


def _has_any(user, permissions) -> bool:
    return any(user.has_perm(f"core.{p}") for p in permissions)


def can_move(referral: Referral, user, to_state: str) -> bool:
    return to_state in TRANSITIONS.get(referral.state, ()) and _has_any(
        user, transition_permissions(referral.state, to_state)
    )


def _moves_to(to_state):
    return lambda referral, user: can_move(referral, user, to_state)


def _milestone_open(milestone, stamp):
    def allowed(referral, user):
        return (
            referral.is_open
            and not getattr(referral, stamp)
            and _has_any(user, [MILESTONE_PERMISSION[milestone]])
        )

    return allowed


def _open_and(*permissions):
    return lambda referral, user: referral.is_open and _has_any(user, permissions)


def _always_and(*permissions):
    return lambda referral, user: _has_any(user, permissions)


# Runs -----------------------------------------------------------------------------------------


def _transition(to_state, done: str):
    def run(referral, user, data, form):
        referral_transition(
            referral_id=referral.pk,
            to_state=to_state,
            actor=user,
            reason=data.get("reason", ""),
            note=data.get("note", ""),
            occurred_at=data.get("occurred_at"),
            expected_version=data["version"],
        )
        return done

    return run


def _accepts(referral, user) -> bool:
    # A scheduled referral goes back to accepted only by cancelling its visit ("Record
    # appointment outcome"), which gives the slot back, offers it to the waitlist and stops the
    # reminders; a bare transition would leave the visit booked.
    return referral.state != State.SCHEDULED and can_move(referral, user, State.ACCEPTED)


@transaction.atomic
def _accept(referral, user, data, form):
    referral_transition(
        referral_id=referral.pk,
        to_state=State.ACCEPTED,
        actor=user,
        note=data.get("note", ""),
        occurred_at=data.get("occurred_at"),
        expected_version=data["version"],
    )
    # Decided now, so the referral page shows it at once (the scheduler's pass is a safety net
    # for referrals accepted through other channels).
    authorization_start(referral_id=referral.pk, actor=None)
    return "Accepted."


def _redirect(referral, user, data, form):
    line = data.get("service_line")
    new = referral_redirect(
        referral_id=referral.pk,
        reason=data.get("reason", ""),
        actor=user,
        service_line_id=line.pk if line else None,
        note=data.get("note", ""),
        occurred_at=data.get("occurred_at"),
        expected_version=data["version"],
    ).redirected_to
    return f"Redirected; it is now {new.number} at {line.name}." if new else "Redirected."


def _milestone(milestone, done: str):
    def run(referral, user, data, form):
        milestone_record(
            referral_id=referral.pk,
            milestone=milestone,
            actor=user,
            occurred_at=data.get("occurred_at"),
            note=data.get("note", ""),
            expected_version=data["version"],
        )
        return done

    return run


def _booking(data) -> dict:
    if data.get("slot"):
        return {"slot_id": data["slot"]}
    return {
        "starts_at": data["starts_at"],
        "clinician_id": data["clinician"].pk if data.get("clinician") else None,
        "location": data.get("location", ""),
    }


def _book(referral, user, data, form):
    appointment_book(
        referral_id=referral.pk,
        actor=user,
        expected_version=data["version"],
        override_authorization=data.get("override_authorization", False),
        **_booking(data),
    )
    return "Appointment booked."


def _no_show_rebook(referral, user, data, form):
    booked = appointment_no_show_rebook(
        referral_id=referral.pk,
        actor=user,
        expected_version=data["version"],
        override_authorization=data.get("override_authorization", False),
        **_booking(data),
    )
    if booked is None:
        return (
            "No-show recorded; it reached the service line's limit, so the referral is cancelled."
        )
    return "No-show recorded and the next appointment booked."


def _cancel(referral, user, data, form):
    # Through access: a visit still booked is cancelled too and its slot given back.
    referral_cancel(
        referral_id=referral.pk,
        reason=data.get("reason", ""),
        actor=user,
        note=data.get("note", ""),
        occurred_at=data.get("occurred_at"),
        expected_version=data["version"],
    )
    return "Cancelled."


def _outcome(referral, user, data, form):
    appointment_record_outcome(
        referral_id=referral.pk,
        outcome=data["outcome"],
        actor=user,
        occurred_at=data.get("occurred_at"),
        expected_version=data["version"],
    )
    return "Appointment outcome recorded."


def _report(referral, user, data, form):
    report_send(
        referral_id=referral.pk,
        incoming=form.incoming,
        channel=data["channel"],
        actor=user,
        expected_version=data["version"],
    )
    return "Report recorded as sent; the referral is closed."


def _document(referral, user, data, form):
    document_add(referral_id=referral.pk, incoming=form.incoming, actor=user)
    return "Document added."


def _assign(referral, user, data, form):
    # Last assignment wins; each one is an event, so nothing is lost if two people assign at once.
    referral_assign(referral_ids=[referral.pk], assignee=data.get("assignee"), actor=user)
    return "Assignment saved."


def _blocker(service, done: str):
    def run(referral, user, data, form):
        service(
            referral_id=referral.pk,
            kind=data["kind"],
            actor=user,
            note=data.get("note", ""),
            expected_version=data["version"],
        )
        return done

    return run


def _checklist(referral, user, data, form):
    from refloop.core.errors import NotFound

    item = referral.checklist.filter(pk=data["item"]).first()
    if item is None:
        raise NotFound("No such checklist item on this referral.")
    checklist_item_set(
        item=item, status=data["status"], actor=user, expected_version=data["version"]
    )
    return "Checklist updated."


def _note(referral, user, data, form):
    # Notes are additive: two people adding one at once both keep theirs, so no version check.
    note_add(referral_id=referral.pk, actor=user, text=data["text"])
    return "Note added."


def _correct(referral, user, data, form):
    from refloop.core.errors import NotFound

    if not referral.events.filter(pk=data["event"]).exists():
        raise NotFound("No such event on this referral.")
    event_correct(
        event_id=data["event"], actor=user, note=data["note"], expected_version=data["version"]
    )
    return "Correction recorded."


def _waitlist_join(referral, user, data, form):
    waitlist_join(referral_id=referral.pk, actor=user, wants_before=data.get("wants_before"))
    return "The patient is on the waitlist for an earlier slot."


def _waitlist_leave(referral, user, data, form):
    waitlist_leave(referral_id=referral.pk, actor=user)
    return "The patient is off the waitlist."


def _instructions_letter(referral, user, data, form):
    from refloop.core.errors import DomainError

    appointment = referral.appointments.filter(outcome=Appointment.Outcome.BOOKED).last()
    if appointment is None:
        raise DomainError("There is no booked visit to write instructions for.", code="not_booked")
    instructions_letter_make(appointment_id=appointment.pk, actor=user)
    return "Instructions letter ready to print."


def _scheduled_and(*permissions):
    return lambda referral, user: referral.state == State.SCHEDULED and _has_any(user, permissions)


def _records_missing(referral, user) -> bool:
    return (
        referral.is_open
        and _has_any(user, ["receive_referral", "schedule_referral"])
        and any(item.status not in CHECKLIST_DONE for item in referral.checklist.all())
    )


def _records_request(referral, user, data, form):
    records_request(referral_id=referral.pk, actor=user)
    return "Missing records asked of the referrer."


def _report_draft_ready(referral, user) -> bool:
    return (
        can_move(referral, user, State.CLOSED)
        and ConsultReport.objects.filter(
            referral_id=referral.pk, status=ConsultReport.Status.DRAFT
        ).exists()
    )


def _report_send_written(referral, user, data, form):
    consult_report_send(referral_id=referral.pk, actor=user, expected_version=data["version"])
    return "Report sent to the referrer; the referral is closed."


def _report_sent_row(referral, data) -> int:
    from refloop.core.errors import NotFound

    if not referral.reports_sent.filter(pk=data["report_sent"]).exists():
        raise NotFound("No such report on this referral.")
    return data["report_sent"]


def _report_delivered(referral, user, data, form):
    from django.utils import timezone

    report_delivered(
        report_sent_id=_report_sent_row(referral, data),
        at=data.get("occurred_at") or timezone.now(),
        actor=user,
    )
    return "Delivery recorded."


def _report_acknowledged(referral, user, data, form):
    report_acknowledged_record(
        report_sent_id=_report_sent_row(referral, data), actor=user, at=data.get("occurred_at")
    )
    return "Acknowledgement recorded."


def _followup(referral, user, data, form):
    followup_set(item_id=data["item"], referral_id=referral.pk, done=data["done"], actor=user)
    return "Follow-up updated."


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    form_class: type[forms.Form]
    allowed: Callable[[Referral, object], bool]
    run: Callable
    # Shown in the actions panel (the others live in their own section of the page).
    panel: bool = True
    style: str = ""
    # The template that lays out the form's fields in the actions panel.
    fields_template: str = "web/_fields.html"


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in [
        Action(
            "acknowledge",
            "Acknowledge to referrer",
            WhenForm,
            _milestone_open(Milestone.ACKNOWLEDGED, "acknowledged_at"),
            _milestone(Milestone.ACKNOWLEDGED, "Acknowledgement recorded."),
        ),
        Action(
            "triage",
            "Send to triage",
            WhenForm,
            _moves_to(State.TRIAGE),
            _transition(State.TRIAGE, "Sent to triage."),
        ),
        Action(
            "accept",
            "Accept",
            WhenForm,
            _accepts,
            _accept,
            style="primary",
        ),
        Action(
            "decline",
            "Decline",
            _reason_form(DeclineReason),
            _moves_to(State.DECLINED),
            _transition(State.DECLINED, "Declined."),
        ),
        Action(
            "redirect",
            "Redirect",
            _reason_form(RedirectReason, with_line=True),
            _moves_to(State.REDIRECTED),
            _redirect,
        ),
        Action(
            "first_contact",
            "Record first contact with the patient",
            WhenForm,
            _milestone_open(Milestone.FIRST_CONTACT, "first_contact_at"),
            _milestone(Milestone.FIRST_CONTACT, "First contact recorded."),
        ),
        Action(
            "book",
            "Book appointment",
            BookForm,
            _moves_to(State.SCHEDULED),
            _book,
            style="primary",
            fields_template="web/referral/_booking.html",
        ),
        Action(
            "no_show_rebook",
            "Record no-show and rebook",
            BookForm,
            lambda r, u: r.state == State.SCHEDULED and can_move(r, u, State.NO_SHOW),
            _no_show_rebook,
            fields_template="web/referral/_booking.html",
        ),
        Action(
            "outcome",
            "Record appointment outcome",
            OutcomeForm,
            lambda r, u: r.state == State.SCHEDULED and can_move(r, u, State.COMPLETED),
            _outcome,
            style="primary",
        ),
        Action(
            "report",
            "Record report sent",
            ReportForm,
            _moves_to(State.CLOSED),
            _report,
            style="primary",
        ),
        Action(
            "records_request",
            "Ask the referrer for the missing records",
            ActionForm,
            _records_missing,
            _records_request,
        ),
        Action(
            "report_send_written",
            "Send the report",
            ActionForm,
            _report_draft_ready,
            _report_send_written,
            style="primary",
        ),
        Action(
            "report_delivered",
            "Record delivery confirmed",
            ReportSentForm,
            lambda r, u: r.state == State.CLOSED and _has_any(u, ["close_referral"]),
            _report_delivered,
            panel=False,
        ),
        Action(
            "report_acknowledged",
            "Record acknowledged",
            ReportSentForm,
            lambda r, u: r.state == State.CLOSED and _has_any(u, ["close_referral"]),
            _report_acknowledged,
            panel=False,
        ),
        Action(
            "followup",
            "Update follow-up",
            FollowUpForm,
            _always_and("schedule_referral", "close_referral"),
            _followup,
            panel=False,
        ),
        Action(
            "cancel",
            "Cancel referral",
            _reason_form(CancelReason),
            _moves_to(State.CANCELLED),
            _cancel,
            style="danger",
        ),
        Action("assign", "Assign", AssignOneForm, _open_and("assign_referral"), _assign),
        Action(
            "document",
            "Add a document",
            DocumentForm,
            _always_and("receive_referral", "schedule_referral", "close_referral"),
            _document,
        ),
        Action(
            "blocker_open",
            "Open a blocker",
            BlockerOpenForm,
            _open_and("view_phi"),
            _blocker(blocker_open, "Blocker opened."),
            panel=False,
        ),
        Action(
            "blocker_resolve",
            "Resolve",
            BlockerResolveForm,
            _always_and("view_phi"),
            _blocker(blocker_resolve, "Blocker resolved."),
            panel=False,
        ),
        Action(
            "checklist",
            "Update checklist",
            ChecklistForm,
            _always_and("receive_referral", "schedule_referral", "close_referral"),
            _checklist,
            panel=False,
        ),
        Action("note", "Add note", NoteForm, _always_and("view_phi"), _note, panel=False),
        Action(
            "correct",
            "Record a correction",
            CorrectForm,
            _always_and("correct_event"),
            _correct,
            panel=False,
        ),
        # Patient contact (web/referral/_patient.html).
        Action(
            "waitlist_join",
            "Join waitlist",
            WaitlistJoinForm,
            _scheduled_and("schedule_referral"),
            _waitlist_join,
            panel=False,
        ),
        Action(
            "waitlist_leave",
            "Leave waitlist",
            ActionForm,
            _always_and("schedule_referral"),
            _waitlist_leave,
            panel=False,
        ),
        Action(
            "instructions_letter",
            "Make instructions letter",
            ActionForm,
            _scheduled_and("schedule_referral"),
            _instructions_letter,
            panel=False,
        ),
    ]
}


# Authorization and patient contact (sections _authorization.html and _contact.html) -----------


class AuthorizationWhenForm(ActionForm):
    occurred_at = forms.DateTimeField(
        required=False, widget=DATETIME_INPUT, label="When", help_text="Leave empty for now."
    )


class AuthorizationApproveForm(AuthorizationWhenForm):
    number = forms.CharField(max_length=60, label="Authorization number")
    valid_from = forms.DateField(widget=DATE_INPUT, label="Valid from")
    valid_to = forms.DateField(widget=DATE_INPUT, label="Valid to")
    field_order = ["number", "valid_from", "valid_to", "occurred_at"]

    def clean(self):
        data = super().clean()
        start, end = data.get("valid_from"), data.get("valid_to")
        if start and end and end < start:
            self.add_error("valid_to", "The validity ends before it starts.")
        return data


class AuthorizationDenyForm(AuthorizationWhenForm):
    reason = forms.CharField(max_length=300, label="Payer's reason")
    field_order = ["reason", "occurred_at"]


class ContactAttemptForm(AuthorizationWhenForm):
    channel = forms.ChoiceField(choices=ContactChannel.choices, label="How")
    outcome = forms.ChoiceField(choices=ContactOutcome.choices, label="Outcome")
    note = forms.CharField(required=False, max_length=500, label="Note")
    field_order = ["channel", "outcome", "note", "occurred_at"]

    def clean(self):
        data = super().clean()
        channel, outcome = data.get("channel"), data.get("outcome")
        if channel and outcome and outcome not in CHANNEL_OUTCOMES[channel]:
            self.add_error("outcome", "That outcome does not fit how the patient was contacted.")
        return data


def _authorization_in(*statuses):
    """Offered to schedulers on an open referral whose authorization is in one of `statuses`
    (None: not checked yet). The reverse one-to-one is cached on the referral: one query."""

    def allowed(referral, user):
        if not (referral.is_open and _has_any(user, ["schedule_referral"])):
            return False
        authorization = getattr(referral, "authorization", None)
        if authorization is None:
            return None in statuses and referral.state in AUTHORIZATION_STATES
        return authorization.status in statuses

    return allowed


def _authorization_check(referral, user, data, form):
    authorization = authorization_start(referral_id=referral.pk, actor=user)
    return f"Authorization: {authorization.get_status_display().lower()}."


def _authorization_submit(referral, user, data, form):
    authorization_submit(referral_id=referral.pk, actor=user, occurred_at=data.get("occurred_at"))
    return "Authorization recorded as submitted."


def _authorization_approve(referral, user, data, form):
    authorization_approve(
        referral_id=referral.pk,
        number=data["number"],
        valid_from=data["valid_from"],
        valid_to=data["valid_to"],
        actor=user,
        occurred_at=data.get("occurred_at"),
        expected_version=data["version"],
    )
    return "Authorization approved."


def _authorization_deny(referral, user, data, form):
    authorization_deny(
        referral_id=referral.pk,
        reason=data["reason"],
        actor=user,
        occurred_at=data.get("occurred_at"),
        expected_version=data["version"],
    )
    return "Authorization denied."


def _contact_attempt(referral, user, data, form):
    attempt = contact_attempt_record(
        referral_id=referral.pk,
        channel=data["channel"],
        outcome=data["outcome"],
        actor=user,
        occurred_at=data.get("occurred_at"),
        note=data.get("note", ""),
        expected_version=data["version"],
    )
    referral.refresh_from_db(fields=["state"])
    if referral.state == State.CANCELLED:
        return "Contact attempt recorded; the patient could not be reached, so it is cancelled."
    return f"Contact attempt recorded ({attempt.get_outcome_display().lower()})."


ACTIONS.update(
    {
        a.name: a
        for a in [
            Action(
                "authorization_check",
                "Check authorization",
                ActionForm,
                _authorization_in(None),
                _authorization_check,
                panel=False,
            ),
            Action(
                "authorization_submit",
                "Record submitted to the payer",
                AuthorizationWhenForm,
                _authorization_in(*AUTHORIZATION_RESUBMITTABLE),
                _authorization_submit,
                panel=False,
            ),
            Action(
                "authorization_approve",
                "Record approval",
                AuthorizationApproveForm,
                _authorization_in(*AUTHORIZATION_PENDING),
                _authorization_approve,
                panel=False,
            ),
            Action(
                "authorization_deny",
                "Record denial",
                AuthorizationDenyForm,
                _authorization_in(*AUTHORIZATION_PENDING),
                _authorization_deny,
                panel=False,
            ),
            Action(
                "contact_attempt",
                "Record a contact attempt",
                ContactAttemptForm,
                _open_and("schedule_referral"),
                _contact_attempt,
                panel=False,
            ),
        ]
    }
)


def action_label(action: Action, referral: Referral) -> str:
    if action.name == "book" and referral.state in {State.SCHEDULED, State.NO_SHOW}:
        return "Rebook appointment"
    if action.name == "triage" and referral.state == State.DECLINED:
        return "Reconsider (back to triage)"
    return action.label
