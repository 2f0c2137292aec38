import datetime as dt
import io

import pytest
from django.utils import timezone
from pypdf import PdfReader

from refloop.directory.enums import UpdateChannel
from refloop.loop.jobs import referrer_updates
from refloop.messaging.models import OutboundMessage
from refloop.referrals.enums import State
from refloop.referrals.services import referral_transition
from tests import factories
from tests.factories import ago

FAX = "555-010-7000"


@pytest.fixture
def fax_referrer(db):
    clinician = factories.referrer()
    clinician.fax = FAX
    clinician.preferred_update_channel = UpdateChannel.FAX
    clinician.save()
    return clinician


@pytest.fixture
def referral(line, fax_referrer, intake):
    """A complete referral from a referrer with a fax number, received an hour ago."""
    return factories.referral(
        line=line, clinician=fax_referrer, actor=intake, received_at=ago(hours=1), last_name="Quill"
    )


def soon(**kwargs) -> dt.datetime:
    """A moment just ahead of now: jobs leave events younger than a couple of seconds for the
    next pass."""
    return timezone.now() + dt.timedelta(seconds=5) + dt.timedelta(**kwargs)


def run_updates(**kwargs) -> int:
    return referrer_updates(soon(**kwargs))


def to_completed(referral, actor, *, appointment_at: dt.datetime | None = None):
    """Triage, accept, book a visit (half an hour ago unless `appointment_at`), record it as
    seen."""
    for state in (State.TRIAGE, State.ACCEPTED):
        referral_transition(referral_id=referral.pk, to_state=state, actor=actor)
    referral_transition(
        referral_id=referral.pk,
        to_state=State.SCHEDULED,
        actor=actor,
        appointment_at=appointment_at or ago(minutes=30),
    )
    return referral_transition(referral_id=referral.pk, to_state=State.COMPLETED, actor=actor)


def to_referrer(**filters):
    return list(OutboundMessage.objects.filter(audience="referrer", **filters).order_by("id"))


def pdf_text(document) -> str:
    with document.original.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    return "\n".join(page.extract_text() for page in reader.pages)
