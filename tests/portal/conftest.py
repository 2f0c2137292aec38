"""Referring offices in the portal: one office user at practice A, one at practice B."""

import pytest
from django.contrib.auth.models import Group, User

from refloop.core.roles import OFFICE_GROUP
from refloop.portal.models import OfficeAccount
from tests import factories

OFFICE_PASSWORD = "Maple-office-2026!"


def office_person(clinician, email: str) -> User:
    """A person at the clinician's practice with a portal account (as an accepted invitation
    makes it)."""
    user = User.objects.create_user(email, email=email, password=OFFICE_PASSWORD)
    user.groups.add(Group.objects.get_or_create(name=OFFICE_GROUP)[0])
    OfficeAccount.objects.create(user=user, organization=clinician.organizations.get())
    user.clinician = clinician
    return user


@pytest.fixture
def office_user(db):
    """Practice A's front desk, with a verified referring clinician at A."""
    return office_person(factories.referrer(), "frontdesk@maple-a.example")


@pytest.fixture
def office_user_b(db):
    return office_person(factories.referrer(), "frontdesk@birch-b.example")
