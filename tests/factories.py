"""Synthetic test data: people by role, a service line with targets, referrals."""

import datetime as dt
import itertools

from django.contrib.auth.models import Group, User
from django.utils import timezone

from refloop.core.roles import Role
from refloop.directory.enums import DocumentKind, Priority, TargetKind, TargetUnit
from refloop.directory.models import (
    ChecklistTemplateItem,
    Clinician,
    ClinicianRole,
    Organization,
    ResponseTarget,
    ServiceLine,
)
from refloop.directory.validators import npi_check_digit
from refloop.referrals.enums import Channel
from refloop.referrals.services import (
    IncomingDocument,
    PatientData,
    ReferralSubmission,
    ReferrerData,
    referral_receive,
)

_seq = itertools.count(1)

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# Hours for routine / urgent / stat; appointment in calendar days.
DEFAULT_TARGETS = {
    TargetKind.ACKNOWLEDGE: (8, 4, 1),
    TargetKind.TRIAGE: (16, 8, 2),
    TargetKind.FIRST_CONTACT: (24, 8, 2),
    TargetKind.APPOINTMENT: (30, 7, 1),
    TargetKind.REPORT: (40, 16, 8),
}


def person(
    role: Role | None, username: str | None = None, password: str = "pw-for-tests-1"
) -> User:
    user = User.objects.create_user(
        username or f"{role or 'nobody'}-{next(_seq)}", password=password
    )
    if role:
        user.groups.add(Group.objects.get(name=Role(role).label))
    if role == Role.ADMIN:
        user.is_staff = user.is_superuser = True
        user.save()
    return user


def npi(n: int) -> str:
    first_nine = f"1{n:08d}"
    return first_nine + npi_check_digit(first_nine)


def service_line(
    code="orthopedics", name="Orthopedics", checklist=(DocumentKind.NOTES,)
) -> ServiceLine:
    line = ServiceLine.objects.create(code=code, name=name)
    for position, kind in enumerate(checklist):
        ChecklistTemplateItem.objects.create(
            service_line=line, name=DocumentKind(kind).label, document_kind=kind, position=position
        )
    for kind, amounts in DEFAULT_TARGETS.items():
        unit = (
            TargetUnit.CALENDAR_DAYS
            if kind == TargetKind.APPOINTMENT
            else TargetUnit.BUSINESS_HOURS
        )
        for priority, amount in zip(Priority.values, amounts, strict=True):
            ResponseTarget.objects.create(
                service_line=line, priority=priority, kind=kind, amount=amount, unit=unit
            )
    return line


def referrer(n: int | None = None) -> Clinician:
    n = n or next(_seq)
    org = Organization.objects.create(name=f"Maple Family Practice {n}", kind="referring_practice")
    clinician = Clinician.objects.create(
        first_name="Dana",
        last_name=f"Referrer{n}",
        credentials="MD",
        npi=npi(n),
        specialty="Family",
    )
    ClinicianRole.objects.create(clinician=clinician, organization=org)
    return clinician


def submission(
    *,
    line: ServiceLine,
    clinician: Clinician | None = None,
    priority=Priority.ROUTINE,
    documents=(),
    last_name=None,
    received_at=None,
    **extra,
) -> ReferralSubmission:
    n = next(_seq)
    return ReferralSubmission(
        patient=PatientData(
            first_name="Alex",
            last_name=last_name or f"Testpatient{n}",
            birth_date=dt.date(1970, 1, 1),
        ),
        referrer=ReferrerData(npi=clinician.npi) if clinician else ReferrerData(name="Dr Unknown"),
        service_line_id=line.pk,
        reason="Knee pain for six months, failed physiotherapy",
        channel=extra.pop("channel", Channel.FAX),
        priority=priority,
        diagnoses=("M17.11",),
        documents=tuple(documents),
        received_at=received_at,
        **extra,
    )


def notes_pdf() -> IncomingDocument:
    return IncomingDocument(kind=DocumentKind.NOTES, filename="notes.pdf", content=PDF_BYTES)


def referral(
    *, line=None, clinician=None, actor=None, complete=True, known_referrer=True, **kwargs
):
    line = line or ServiceLine.objects.first() or service_line()
    clinician = clinician or (referrer() if known_referrer else None)
    docs = (notes_pdf(),) if complete else ()
    result = referral_receive(
        submission=submission(line=line, clinician=clinician, documents=docs, **kwargs), actor=actor
    )
    return result.referral


def ago(**kwargs) -> dt.datetime:
    return timezone.now() - dt.timedelta(**kwargs)


# Patient contact: calendars, booked visits, reachable patients (helper E) ----------------------


def own_clinician(n: int | None = None) -> Clinician:
    n = n or next(_seq)
    return Clinician.objects.create(first_name="Sam", last_name=f"Specialist{n}", credentials="MD")


def new_consult_type(line: ServiceLine):
    from refloop.access.models import VisitType

    visit_type, _ = VisitType.objects.get_or_create(
        service_line=line,
        code="new",
        defaults={"name": "New consult", "minutes": 30, "for_new_referrals": True},
    )
    return visit_type


def open_slot(*, line: ServiceLine, starts_at: dt.datetime, clinician=None, held=False):
    from refloop.access.models import Slot

    return Slot.objects.create(
        service_line=line,
        clinician=clinician or own_clinician(),
        visit_type=new_consult_type(line),
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=30),
        location="Building B, 2nd floor",
        held_for_urgent=held,
    )


def patient_reachable(referral, *, sms=True, email=True, language="English", tz=""):
    """Give the referral's patient a phone and e-mail, with consent as asked."""
    patient = referral.patient
    patient.phone, patient.email = "+15550100123", f"patient{patient.pk}@example.org"
    patient.sms_consent, patient.email_consent = sms, email
    patient.preferred_language, patient.time_zone = language, tz
    patient.save()
    return patient


def booked(referral, *, slot=None, starts_at=None, actor=None):
    """Triage and accept the referral (as the system), then book it onto `slot` (or a time)."""
    from refloop.access.services import appointment_book
    from refloop.referrals.enums import State
    from refloop.referrals.services import referral_transition

    for state in (State.TRIAGE, State.ACCEPTED):
        referral_transition(referral_id=referral.pk, to_state=state, actor=None)
    return appointment_book(
        referral_id=referral.pk,
        starts_at=slot.starts_at if slot else starts_at,
        slot_id=slot.pk if slot else None,
        clinician_id=slot.clinician_id if slot else None,
        location=slot.location if slot else "Suite 4",
        actor=actor,
    )


def patient(*, phone="(555) 010-4477", sms_consent=True, time_zone="", **fields):
    from refloop.directory.models import Patient

    return Patient.objects.create(
        first_name="Robin",
        last_name=f"Texter{next(_seq)}",
        birth_date=dt.date(1980, 5, 17),
        phone=phone,
        sms_consent=sms_consent,
        time_zone=time_zone,
        **fields,
    )
