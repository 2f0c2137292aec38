"""Relations test data: territories, practices in them, standings as analytics would write."""

import datetime as dt
import itertools

from django.utils import timezone

from refloop.directory.models import Clinician, ClinicianRole, Organization
from refloop.relations.models import PracticeAssignment, ReferrerStanding, StandingLine, Territory
from tests import factories

_seq = itertools.count(1)


def territory(liaison=None, name=None) -> Territory:
    return Territory.objects.create(name=name or f"Territory {next(_seq)}", liaison=liaison)


def practice(territory: Territory | None = None, name=None) -> Organization:
    org = Organization.objects.create(
        name=name or f"Birch Street Clinic {next(_seq)}", kind="referring_practice"
    )
    if territory:
        PracticeAssignment.objects.create(organization=org, territory=territory)
    return org


def clinician(org: Organization, *, specialty="Family", email="", npi=True) -> Clinician:
    n = next(_seq) + 5000
    person = Clinician.objects.create(
        first_name="Robin",
        last_name=f"Sender{n}",
        credentials="MD",
        npi=factories.npi(n) if npi else None,
        specialty=specialty,
        email=email,
    )
    ClinicianRole.objects.create(clinician=person, organization=org)
    return person


def standing(clinician: Clinician | None = None, *, lines=(("Cardiology", 3),), **fields):
    org = clinician.organizations.first() if clinician else None
    assignment = PracticeAssignment.objects.filter(organization=org).first() if org else None
    values = {
        "key": (clinician.npi or str(clinician.pk)) if clinician else f"k{next(_seq)}",
        "clinician": clinician,
        "organization": org,
        "territory": assignment.territory if assignment else None,
        "liaison": assignment.territory.liaison if assignment else None,
        "name": str(clinician) if clinician else "Dr Nobody",
        "practice": org.name if org else "",
        "specialty": clinician.specialty if clinician else "",
        "segment": "steady",
        "total": sum(n for _, n in lines),
        "monthly": [[dt.date(2025, m, 1).isoformat(), 1] for m in range(1, 13)],
        "lines": [list(line) for line in lines],
        "computed_at": timezone.now(),
        **fields,
    }
    row = ReferrerStanding.objects.create(**values)
    StandingLine.objects.bulk_create(
        StandingLine(standing=row, service_line=name, count=n) for name, n in lines
    )
    return row
