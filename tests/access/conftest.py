"""Access tests: a service line with a calendar (one visit type for new referrals, clinicians of
our own facility, slots made where a test needs them), referrals ready to book, local times."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from refloop.access.models import Slot, VisitType
from refloop.directory.enums import OrganizationKind, Priority
from refloop.directory.models import Clinician, ClinicianRole, Organization
from refloop.referrals.enums import State
from refloop.referrals.services import referral_transition
from tests import factories


def local_day_at(days_ahead: int, hour: int, minute: int = 0) -> dt.datetime:
    """A time `days_ahead` days from today, in the practice's zone."""
    zone = ZoneInfo(settings.TIME_ZONE)
    day = timezone.localdate(timezone=zone) + dt.timedelta(days=days_ahead)
    return dt.datetime.combine(day, dt.time(hour, minute), zone)


@pytest.fixture
def referral(line, clinician, intake):
    return factories.referral(line=line, clinician=clinician, actor=intake, last_name="Quill")


@pytest.fixture
def consult(line):
    return VisitType.objects.create(
        service_line=line, code="new", name="New consult", minutes=30, for_new_referrals=True
    )


def own_clinician(last_name: str) -> Clinician:
    clinic, _ = Organization.objects.get_or_create(
        name="Riverside Specialty Care", kind=OrganizationKind.OWN_FACILITY
    )
    clinician = Clinician.objects.create(first_name="Sam", last_name=last_name, credentials="MD")
    ClinicianRole.objects.create(clinician=clinician, organization=clinic)
    return clinician


@pytest.fixture
def doctor(db):
    return own_clinician("Okafor")


def slot(visit_type, clinician, starts_at, *, held=False, withdrawn=False) -> Slot:
    return Slot.objects.create(
        service_line_id=visit_type.service_line_id,
        clinician=clinician,
        visit_type=visit_type,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=visit_type.minutes),
        location="Clinic 2",
        held_for_urgent=held,
        withdrawn=withdrawn,
    )


def in_days(days: float, hour: int = 10) -> dt.datetime:
    """A time `days` from now at a round local hour (days may be fractional for "hours away")."""
    if days < 1:
        return (timezone.now() + dt.timedelta(days=days)).replace(microsecond=0)
    local = timezone.localtime() + dt.timedelta(days=days)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


def accepted(line, *, intake, triage, priority=Priority.ROUTINE, **kwargs):
    referral = factories.referral(line=line, actor=intake, priority=priority, **kwargs)
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=intake)
    return referral_transition(referral_id=referral.pk, to_state=State.ACCEPTED, actor=triage)


@pytest.fixture
def routine(line, intake, triage):
    return accepted(line, intake=intake, triage=triage, last_name="Quill")


@pytest.fixture
def urgent(line, intake, triage):
    return accepted(line, intake=intake, triage=triage, priority=Priority.URGENT)
