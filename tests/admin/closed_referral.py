"""One referral taken from received to closed, so every admin page has a row to show."""

from refloop.access.services import appointment_book, appointment_record_outcome
from refloop.core.models import Closure
from refloop.directory.models import Coverage, InsurancePlan
from refloop.loop.services import report_send
from refloop.referrals.enums import Milestone, State
from refloop.referrals.services import milestone_record, referral_transition
from tests import factories
from tests.factories import ago


def closed_referral(*, intake, triage, scheduler, care_team):
    referral = factories.referral(actor=intake, received_at=ago(days=5))
    Coverage.objects.create(patient=referral.patient, payer="Acme Health", member_id="AH-1")
    referral.service_line.plans_accepted.add(InsurancePlan.objects.create(payer="Acme", plan="PPO"))
    Closure.objects.create(date=ago(days=30).date(), description="Snow day")
    milestone_record(
        referral_id=referral.pk,
        milestone=Milestone.ACKNOWLEDGED,
        actor=intake,
        occurred_at=ago(days=5),
    )
    referral_transition(
        referral_id=referral.pk, to_state=State.TRIAGE, actor=intake, occurred_at=ago(days=4)
    )
    referral_transition(
        referral_id=referral.pk, to_state=State.ACCEPTED, actor=triage, occurred_at=ago(days=3)
    )
    appointment_book(
        referral_id=referral.pk, starts_at=ago(hours=3), actor=scheduler, occurred_at=ago(days=1)
    )
    appointment_record_outcome(referral_id=referral.pk, outcome="attended", actor=scheduler)
    report_send(
        referral_id=referral.pk, incoming=factories.notes_pdf(), channel="fax", actor=care_team
    )
    referral.refresh_from_db()
    return referral
