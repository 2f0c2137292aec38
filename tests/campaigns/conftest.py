"""Campaign fixtures: approved e-mail content (written as the library stores it), a target list
and the practice's settings for e-mail."""

import datetime as dt

import pytest
from django.utils import timezone

from refloop.campaigns.models import Campaign
from refloop.content.enums import ContentKind, ContentState
from refloop.content.models import ContentItem, ContentVersion
from refloop.relations.models import TargetList

BODY = (
    "Dear Dr {last_name},\n\n"
    "Our knee clinic at {practice} now sees new patients within two weeks.\n"
    "How to refer: https://refloop.example.org/refer/orthopedics/\n\n"
    "Referral criteria: https://refloop.example.org/refer/orthopedics/#criteria"
)


def email_content(*, subject="New knee clinic hours", body=BODY, expires_in_days=30, line=None):
    """An e-mail item with one approved version, as the content library leaves it."""
    item = ContentItem.objects.create(
        kind=ContentKind.EMAIL, title="Knee clinic", service_line=line
    )
    ContentVersion.objects.create(
        item=item,
        number=1,
        state=ContentState.APPROVED,
        subject=subject,
        body=body,
        expires_on=timezone.localdate() + dt.timedelta(days=expires_in_days),
        state_changed_at=timezone.now(),
    )
    return item


@pytest.fixture(autouse=True)
def practice_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.REFLOOP_BASE_URL = "https://refloop.example.org"
    settings.DEFAULT_FROM_EMAIL = "outreach@riverside.example"
    settings.REFLOOP_MAIL_DOMAIN = "riverside.example"
    settings.REFLOOP_PRACTICE_NAME = "Riverside Specialty Care"
    settings.REFLOOP_PRACTICE_POSTAL_ADDRESS = "100 River Road, Springfield, ST 00000"
    settings.REFLOOP_CAMPAIGN_TRACKING = False
    return settings


@pytest.fixture
def content(db):
    return email_content()


@pytest.fixture
def target_list(liaison):
    return TargetList.objects.create(
        name="Declining orthopedics",
        owner=liaison,
        shared=True,
        criteria={"segments": ["declining"]},
    )


def draft(*, user, target_list, content, **fields) -> Campaign:
    from refloop.campaigns.services import campaign_create

    fields.setdefault("scheduled_at", timezone.now() + dt.timedelta(hours=1))
    fields.setdefault("name", "Knee clinic news")
    return campaign_create(user=user, target_list=target_list, content_item=content, **fields)


def member(target_list, n: int, *, email: str | None = None, segment="declining", staff=True):
    """A referring clinician on the list (a standing in its segment), with an e-mail, and their
    practice's referral coordinator."""
    from refloop.relations.enums import ContactRole
    from refloop.relations.models import OfficeContact, ReferrerStanding
    from tests import factories

    clinician = factories.referrer()
    clinician.first_name, clinician.email = f"Dana{n}", email or f"dr{n}@maple{n}.example"
    clinician.save()
    organization = clinician.organizations.get()
    ReferrerStanding.objects.create(
        key=f"c:{clinician.pk}",
        clinician=clinician,
        organization=organization,
        name=str(clinician),
        segment=segment,
        total=12,
        computed_at=timezone.now(),
    )
    if staff:
        OfficeContact.objects.create(
            organization=organization,
            name=f"Robin Coordinator{n}",
            role=ContactRole.REFERRAL_COORDINATOR,
            email=f"office{n}@maple{n}.example",
        )
    return clinician
