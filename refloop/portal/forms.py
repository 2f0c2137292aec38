"""Forms of the portal. They parse and check input; the services decide."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError

from refloop.core.errors import DomainError
from refloop.directory.enums import DocumentKind, Priority
from refloop.directory.models import Organization, Patient, ServiceLine
from refloop.directory.validators import validate_icd10cm, validate_npi
from refloop.portal.services.refer import SENDER_SYSTEM
from refloop.referrals.enums import Channel
from refloop.referrals.services import (
    IncomingDocument,
    PatientData,
    ReferralSubmission,
    ReferrerData,
)
from refloop.referrals.services.documents import document_check

DATE_INPUT = forms.DateInput(attrs={"type": "date"})
REFERENCE_SALT = "refloop.portal.refer.reference"
REFERENCE_MAX_AGE = 2 * 24 * 3600  # a form left open over a weekend still posts
LANGUAGES = ["English", "Spanish", "Chinese", "Vietnamese", "Arabic", "French", "Other"]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data if d]
        return [super().clean(data, initial)] if data else []


def reference_sign(reference: str) -> str:
    return signing.dumps(reference, salt=REFERENCE_SALT)


def reference_read(signed: str) -> str | None:
    try:
        return signing.loads(signed, salt=REFERENCE_SALT, max_age=REFERENCE_MAX_AGE)
    except signing.BadSignature:
        return None


def _read_file(upload, what: str) -> bytes:
    limit = settings.REFLOOP_REFER_MAX_FILE_BYTES
    if upload.size > limit:
        raise ValidationError(
            f"'{upload.name}' is {upload.size / 1e6:.1f} MB; each file may be at most "
            f"{limit / 1e6:.0f} MB."
        )
    content = upload.read()
    try:
        document_check(IncomingDocument(kind=what, filename=upload.name, content=content))
    except DomainError as error:
        raise ValidationError(error.message) from error
    return content


class EReferralForm(forms.Form):
    """The public e-referral form of one service line: one file field per document the line
    requires (its checklist), checked before anything is submitted."""

    form_ref = forms.CharField(widget=forms.HiddenInput)
    # A field people never see (hidden by CSS, skipped by keyboard): bots fill it in.
    website = forms.CharField(required=False, label="Leave this empty")

    patient_first_name = forms.CharField(label="First name", max_length=100)
    patient_last_name = forms.CharField(label="Last name", max_length=100)
    patient_birth_date = forms.DateField(label="Date of birth", widget=DATE_INPUT)
    patient_sex = forms.ChoiceField(label="Sex", choices=Patient.Sex.choices)
    patient_phone = forms.CharField(label="Phone", max_length=30)
    patient_email = forms.EmailField(label="E-mail", required=False)
    patient_language = forms.ChoiceField(
        label="Preferred language", choices=[(x, x) for x in LANGUAGES]
    )

    referrer_name = forms.CharField(label="Referring clinician", max_length=120)
    referrer_npi = forms.CharField(
        label="Clinician's NPI", max_length=10, validators=[validate_npi]
    )
    referrer_practice = forms.CharField(label="Practice", max_length=120)
    referrer_fax = forms.CharField(label="Practice fax", max_length=30)
    referrer_email = forms.EmailField(label="Practice e-mail", required=False)

    reason = forms.CharField(label="Reason for referral", widget=forms.Textarea(attrs={"rows": 4}))
    diagnoses = forms.CharField(
        label="Diagnoses (ICD-10-CM)",
        help_text="One or more codes, separated by commas or spaces, e.g. M17.11",
    )
    priority = forms.ChoiceField(label="Priority", choices=Priority.choices)
    other_documents = MultipleFileField(
        label="Other documents (optional)",
        required=False,
        help_text="PDF, TIFF, PNG or JPEG.",
    )

    def __init__(self, *args, line: ServiceLine, **kwargs):
        super().__init__(*args, **kwargs)
        self.line = line
        self.checklist = list(line.checklist.all())
        for item in self.checklist:
            self.fields[f"doc_{item.pk}"] = forms.FileField(
                label=item.name,
                help_text=f"Required by {line.name}. PDF, TIFF, PNG or JPEG.",
            )

    def document_fields(self):
        return [self[f"doc_{item.pk}"] for item in self.checklist]

    def clean_website(self):
        if self.cleaned_data["website"]:
            raise ValidationError("This form could not be accepted.", code="honeypot")
        return ""

    def clean_form_ref(self):
        reference = reference_read(self.cleaned_data["form_ref"])
        if reference is None:
            raise ValidationError("This form has expired. Check the details and send it again.")
        return reference

    def clean_diagnoses(self):
        codes = [c.upper() for c in self.cleaned_data["diagnoses"].replace(",", " ").split()]
        if not codes:
            raise ValidationError("Give at least one ICD-10-CM code.")
        problems = []
        for code in codes:
            try:
                validate_icd10cm(code)
            except ValidationError as error:
                problems.extend(error.messages)
        if problems:
            raise ValidationError(problems)
        return tuple(dict.fromkeys(codes))

    def clean_other_documents(self):
        uploads = self.cleaned_data["other_documents"]
        if len(uploads) + len(self.checklist) > settings.REFLOOP_REFER_MAX_FILES:
            raise ValidationError(
                f"Send at most {settings.REFLOOP_REFER_MAX_FILES} files in all; fax the rest."
            )
        return [(u.name, _read_file(u, DocumentKind.OTHER)) for u in uploads]

    def clean(self):
        cleaned = super().clean()
        for item in self.checklist:
            name = f"doc_{item.pk}"
            upload = cleaned.get(name)
            if upload is None:
                continue
            try:
                cleaned[name] = (upload.name, _read_file(upload, item.document_kind))
            except ValidationError as error:
                self.add_error(name, error)
        total = sum(len(content) for _, content in self._files())
        if total > settings.REFLOOP_REFER_MAX_TOTAL_BYTES:
            raise ValidationError(
                f"The files come to {total / 1e6:.1f} MB; at most "
                f"{settings.REFLOOP_REFER_MAX_TOTAL_BYTES / 1e6:.0f} MB may be sent at once."
            )
        return cleaned

    def _files(self):
        for item in self.checklist:
            value = self.cleaned_data.get(f"doc_{item.pk}")
            if isinstance(value, tuple):
                yield value
        yield from self.cleaned_data.get("other_documents") or []

    def documents(self) -> tuple[IncomingDocument, ...]:
        docs = []
        for item in self.checklist:
            filename, content = self.cleaned_data[f"doc_{item.pk}"]
            docs.append(
                IncomingDocument(
                    kind=item.document_kind, filename=filename, content=content, title=item.name
                )
            )
        for filename, content in self.cleaned_data["other_documents"]:
            docs.append(
                IncomingDocument(kind=DocumentKind.OTHER, filename=filename, content=content)
            )
        return tuple(docs)

    def submission(self) -> ReferralSubmission:
        data = self.cleaned_data
        contact = [
            data["referrer_practice"],
            f"fax {data['referrer_fax']}",
            data["referrer_email"],
        ]
        return ReferralSubmission(
            patient=PatientData(
                first_name=data["patient_first_name"].strip(),
                last_name=data["patient_last_name"].strip(),
                birth_date=data["patient_birth_date"],
                sex=data["patient_sex"],
                phone=data["patient_phone"].strip(),
                email=data["patient_email"].strip(),
                preferred_language=data["patient_language"],
            ),
            # The practice's fax and e-mail are kept in what the sender said about themselves
            # (referrer_as_given): staff use them to confirm the referrer.
            referrer=ReferrerData(
                npi=data["referrer_npi"],
                name=data["referrer_name"].strip(),
                organization_name=" · ".join(p.strip() for p in contact if p.strip()),
            ),
            service_line_id=self.line.pk,
            reason=data["reason"].strip(),
            channel=Channel.PORTAL,
            priority=data["priority"],
            diagnoses=data["diagnoses"],
            sender_system=SENDER_SYSTEM,
            sender_reference=data["form_ref"],
            documents=self.documents(),
        )


class RecordsUploadForm(forms.Form):
    item = forms.IntegerField(widget=forms.HiddenInput)
    file = forms.FileField(label="File", help_text="PDF, TIFF, PNG or JPEG.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        return upload.name, _read_file(upload, DocumentKind.OTHER)


class OfficeLoginForm(forms.Form):
    username = forms.CharField(label="E-mail address", max_length=150)
    password = forms.CharField(label="Password", widget=forms.PasswordInput)


class OfficeCodeForm(forms.Form):
    token = forms.CharField(
        label="Code from your authenticator app",
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class AcceptForm(forms.Form):
    password = forms.CharField(label="New password", widget=forms.PasswordInput)
    password_again = forms.CharField(label="New password again", widget=forms.PasswordInput)


class InviteForm(forms.Form):
    organization = forms.ModelChoiceField(
        label="Referring practice",
        queryset=Organization.objects.filter(kind="referring_practice").only("id", "name"),
    )
    email = forms.EmailField(label="E-mail address of the person at the office")
