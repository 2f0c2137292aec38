"""Forms of the staff app. They parse and check input; the services decide."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from refloop.core.errors import DomainError
from refloop.core.queries import AccessLogCriteria, people_who_see_phi
from refloop.directory.enums import DocumentKind, OrganizationKind, Priority
from refloop.directory.models import Clinician, Organization, Patient, ServiceLine
from refloop.directory.validators import validate_icd10cm, validate_npi
from refloop.referrals.enums import OPEN_STATES, BlockerKind, Channel, State
from refloop.referrals.models import Referral
from refloop.referrals.queries import ClockFilter, SearchCriteria, WorklistFilters
from refloop.referrals.services import (
    IncomingDocument,
    PatientData,
    ReferralSubmission,
    ReferrerData,
)
from refloop.referrals.services.documents import document_check

DATE_INPUT = forms.DateInput(attrs={"type": "date"})
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def person_label(user) -> str:
    return user.get_full_name() or user.get_username()


class LongSelect(forms.Select):
    """A select built in Python. Django renders each option through a template (tens of
    microseconds an option), which made the referring-practice filter of a large program (hundreds
    of practices) the slowest part of the worklist."""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        chosen = {str(v) for v in self.format_value(value)}
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (str(key), mark_safe(" selected") if str(key) in chosen else "", label)
                for key, label in self.choices
            ),
        )
        return format_html("<select{}>{}</select>", flatatt(attrs), options)


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return person_label(obj)


class ClinicianChoiceField(forms.ModelChoiceField):
    widget = LongSelect

    def label_from_instance(self, obj):
        npi = f" · NPI {obj.npi}" if obj.npi else ""
        return f"{obj.last_name}, {obj.first_name} {obj.credentials}{npi}".strip()


# Worklist ---------------------------------------------------------------------------------


class WorklistFilterForm(forms.Form):
    """GET parameters of the worklist: ids and codes only, never PHI."""

    state = forms.ChoiceField(
        required=False,
        choices=[("", "Any open state")] + [(s, s.label) for s in State if s in OPEN_STATES],
    )
    line = forms.ModelChoiceField(
        required=False,
        queryset=ServiceLine.objects.none(),
        empty_label="Any service line",
        label="Service line",
    )
    priority = forms.ChoiceField(required=False, choices=[("", "Any priority"), *Priority.choices])
    blocker = forms.ChoiceField(required=False, choices=[("", "Any blocker"), *BlockerKind.choices])
    clock = forms.ChoiceField(required=False, choices=[("", "Any clock"), *ClockFilter.choices])
    channel = forms.ChoiceField(
        required=False, choices=[("", "Any way in"), *Channel.choices], label="Came by"
    )
    org = forms.ModelChoiceField(
        required=False,
        widget=LongSelect,
        queryset=Organization.objects.none(),
        empty_label="Any referring practice",
        label="Referring practice",
    )
    assignee = forms.ChoiceField(required=False)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, user, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["line"].queryset = ServiceLine.objects.filter(active=True).only("id", "name")
        self.fields["org"].queryset = Organization.objects.filter(
            kind=OrganizationKind.REFERRING_PRACTICE
        ).only("id", "name")
        self.fields["assignee"].choices = [
            ("", "Anyone"),
            ("me", "Me"),
            ("none", "Unassigned"),
            *[(str(p.pk), person_label(p)) for p in people],
        ]

    def filters(self) -> WorklistFilters:
        data = self.cleaned_data if self.is_valid() else {}
        assignee = data.get("assignee", "")
        return WorklistFilters(
            states=(data["state"],) if data.get("state") else (),
            service_line_id=data["line"].pk if data.get("line") else None,
            priority=data.get("priority", ""),
            blocker=data.get("blocker", ""),
            clock=data.get("clock", ""),
            channel=data.get("channel", ""),
            organization_id=data["org"].pk if data.get("org") else None,
            assignee_id=self.user.pk if assignee == "me" else _int_or_none(assignee),
            unassigned=assignee == "none",
        )

    def page_number(self) -> int:
        return (self.cleaned_data.get("page") if self.is_valid() else None) or 1


def _int_or_none(value: str) -> int | None:
    return int(value) if value and value.isdigit() else None


class AssignForm(forms.Form):
    referral = forms.TypedMultipleChoiceField(coerce=int, required=False)
    take = forms.IntegerField(required=False)
    assignee = PersonChoiceField(required=False, queryset=None, empty_label="Nobody (unassign)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = people_who_see_phi()
        # Any id is acceptable here: the service claims each one and refuses unknown ones.
        self.fields["referral"].choices = [
            (v, v) for v in self.data.getlist("referral") if v.isdigit()
        ]

    def clean(self):
        data = super().clean()
        if not data.get("take") and not data.get("referral"):
            raise ValidationError("Tick at least one referral.")
        return data


# Search -------------------------------------------------------------------------------------


class SearchForm(forms.Form):
    """Sent by POST: a name or a date of birth must never land in a URL or an access log line."""

    last_name = forms.CharField(required=False, max_length=100, label="Patient last name")
    first_name = forms.CharField(required=False, max_length=100, label="First name")
    birth_date = forms.DateField(required=False, widget=DATE_INPUT, label="Date of birth")
    number = forms.CharField(
        required=False, max_length=20, label="Referral number", help_text="R-0000123 or 123"
    )
    referrer = forms.CharField(
        required=False, max_length=100, label="Referrer", help_text="Last name or NPI"
    )

    def clean_number(self):
        number = self.cleaned_data["number"].strip()
        if number and Referral.pk_from_number(number) is None:
            raise ValidationError("A referral number looks like R-0000123.")
        return number

    def clean(self):
        data = super().clean()
        if not self.errors and not any(data.values()):
            raise ValidationError("Fill in at least one field.")
        return data

    def criteria(self) -> SearchCriteria:
        return SearchCriteria(**self.cleaned_data)


# Intake -------------------------------------------------------------------------------------

INTAKE_CHANNELS = [(c, c.label) for c in (Channel.FAX, Channel.PHONE, Channel.EMAIL)]
DOCUMENT_ROWS = 4


def incoming_from_upload(upload, kind: str, title: str = "") -> IncomingDocument:
    """Read an upload no bigger than the limit (a bigger one is refused without reading it all)."""
    limit = settings.REFLOOP_MAX_UPLOAD_BYTES
    if upload.size > limit:
        raise ValidationError(
            f"'{upload.name}' is {upload.size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB."
        )
    incoming = IncomingDocument(kind=kind, filename=upload.name, content=upload.read(), title=title)
    try:
        document_check(incoming)
    except DomainError as exc:
        raise ValidationError(exc.message) from exc
    return incoming


class IntakeForm(forms.Form):
    # The patient
    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    birth_date = forms.DateField(widget=DATE_INPUT, label="Date of birth")
    sex = forms.ChoiceField(choices=Patient.Sex.choices, initial=Patient.Sex.UNKNOWN)
    mrn = forms.CharField(required=False, max_length=30, label="MRN")
    phone = forms.CharField(required=False, max_length=30)
    email = forms.EmailField(required=False)
    preferred_language = forms.CharField(max_length=40, initial="English")
    interpreter_needed = forms.BooleanField(required=False)
    payer = forms.CharField(required=False, max_length=120)
    plan = forms.CharField(required=False, max_length=120)
    member_id = forms.CharField(required=False, max_length=60, label="Member id")
    # The referrer
    referrer = ClinicianChoiceField(
        required=False,
        queryset=Clinician.objects.none(),
        empty_label="Not in the directory (type below)",
        label="Referring clinician",
    )
    referrer_name = forms.CharField(required=False, max_length=200, label="Referrer's name")
    referrer_npi = forms.CharField(required=False, max_length=10, label="Referrer's NPI")
    referrer_practice = forms.CharField(required=False, max_length=200, label="Practice")
    # The referral
    service_line = forms.ModelChoiceField(queryset=ServiceLine.objects.none())
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.ROUTINE)
    channel = forms.ChoiceField(choices=INTAKE_CHANNELS, initial=Channel.FAX)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    diagnoses = forms.CharField(
        required=False,
        max_length=300,
        help_text="ICD-10-CM codes, comma separated: M17.11, M25.561",
    )
    receive_anyway = forms.BooleanField(
        required=False, label="This is not a duplicate: receive it anyway"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["referrer"].queryset = Clinician.objects.only(
            "id", "first_name", "last_name", "credentials", "npi"
        ).order_by("last_name", "first_name")
        self.fields["service_line"].queryset = ServiceLine.objects.filter(active=True).only(
            "id", "name"
        )
        for i in range(1, DOCUMENT_ROWS + 1):
            self.fields[f"file_{i}"] = forms.FileField(required=False, label=f"Document {i}")
            self.fields[f"kind_{i}"] = forms.ChoiceField(
                choices=[(k, k.label) for k in DocumentKind if k != DocumentKind.REPORT],
                initial=DocumentKind.REFERRAL_LETTER if i == 1 else DocumentKind.NOTES,
                label="Kind",
            )

    def document_rows(self):
        return [(self[f"file_{i}"], self[f"kind_{i}"]) for i in range(1, DOCUMENT_ROWS + 1)]

    def clean_referrer_npi(self):
        npi = self.cleaned_data["referrer_npi"].strip()
        if npi:
            validate_npi(npi)
        return npi

    def clean_diagnoses(self):
        codes = [c.strip().upper() for c in self.cleaned_data["diagnoses"].split(",") if c.strip()]
        problems = []
        for code in codes:
            try:
                validate_icd10cm(code)
            except ValidationError as exc:
                problems.extend(exc.messages)
        if problems:
            raise ValidationError(problems)
        return tuple(codes)

    def clean(self):
        data = super().clean()
        if not data.get("referrer") and not (
            data.get("referrer_name", "").strip() or data.get("referrer_npi")
        ):
            self.add_error("referrer_name", "Pick the referrer or type their name or NPI.")
        self.incoming = []
        for i in range(1, DOCUMENT_ROWS + 1):
            upload = data.get(f"file_{i}")
            if upload:
                try:
                    self.incoming.append(incoming_from_upload(upload, data[f"kind_{i}"]))
                except ValidationError as exc:
                    self.add_error(f"file_{i}", exc)
        return data

    def submission(self) -> ReferralSubmission:
        data = self.cleaned_data
        clinician = data.get("referrer")
        return ReferralSubmission(
            patient=PatientData(
                first_name=data["first_name"].strip(),
                last_name=data["last_name"].strip(),
                birth_date=data["birth_date"],
                sex=data["sex"],
                mrn=data["mrn"].strip(),
                phone=data["phone"],
                email=data["email"],
                preferred_language=data["preferred_language"],
                interpreter_needed=data["interpreter_needed"],
                payer=data["payer"],
                plan=data["plan"],
                member_id=data["member_id"].strip(),
            ),
            referrer=ReferrerData(
                clinician_id=clinician.pk if clinician else None,
                npi=data["referrer_npi"],
                name=data["referrer_name"].strip(),
                organization_name=data["referrer_practice"].strip(),
            ),
            service_line_id=data["service_line"].pk,
            reason=data["reason"],
            channel=data["channel"],
            priority=data["priority"],
            diagnoses=data["diagnoses"],
            documents=tuple(self.incoming),
        )


# Access log ---------------------------------------------------------------------------------


class AccessLogFilterForm(forms.Form):
    username = forms.CharField(required=False, max_length=150, label="User")
    patient = forms.IntegerField(required=False, min_value=1, label="Patient id")
    object_type = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Anything"),
            ("referral", "Referral"),
            ("document", "Document"),
            ("patient", "Patient"),
        ],
        label="Object",
    )
    object_id = forms.CharField(required=False, max_length=64, label="Object id")
    date_from = forms.DateField(required=False, widget=DATE_INPUT, label="From")
    date_to = forms.DateField(required=False, widget=DATE_INPUT, label="To")

    def criteria(self) -> AccessLogCriteria:
        data = self.cleaned_data if self.is_valid() else {}
        return AccessLogCriteria(
            username=data.get("username", ""),
            patient_id=data.get("patient"),
            object_type=data.get("object_type", ""),
            object_id=data.get("object_id", ""),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


# Two-factor ---------------------------------------------------------------------------------


class TokenForm(forms.Form):
    token = forms.CharField(
        max_length=8,
        label="Code from your authenticator app",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class ConsultReportForm(forms.Form):
    """The consult report's sections (loop.models.REPORT_SECTIONS), as drafted."""

    findings = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=20000)
    recommendations = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 5}), max_length=20000
    )
    next_steps = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), max_length=20000
    )
    whom_to_call = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
