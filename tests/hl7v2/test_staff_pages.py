"""/interfaces/: the HL7 messages (failed first, no PHI in the list), one message with its raw
text (access logged), correct and replay, the merge review queue."""

import pytest
from django.urls import reverse

from refloop.core.models import AccessLogEntry
from refloop.directory.models import Patient
from refloop.interop.hl7v2.models import Hl7Message, MergeReview
from refloop.interop.hl7v2.services import message_receive
from refloop.referrals.models import Referral
from tests import factories
from tests.hl7v2.conftest import data
from tests.web.helpers import sign_in

pytestmark = pytest.mark.django_db


def failed_referral() -> Hl7Message:
    """A REF^I12 refused for its missing date of birth."""
    message_receive(raw=data("REF-I12-01.hl7").replace(b"|19610615|", b"||"))
    return Hl7Message.objects.get(status=Hl7Message.Status.ERROR)


def many_messages(n: int) -> None:
    for i in range(n):
        raw = data("SIU_12.hl7").replace(b"MSG00001", f"N{i}".encode())
        message_receive(raw=raw)


@pytest.mark.parametrize("n", [1, 30])
def test_it_lists_failed_messages_first_in_a_fixed_number_of_queries(
    client, intake, partner, n, django_assert_max_num_queries
):
    many_messages(n)
    failed = failed_referral()
    sign_in(client, intake)
    with django_assert_max_num_queries(14):  # the same for 1 and 31 rows
        response = client.get(reverse("interfaces"))
    rows = response.context["page"].object_list
    assert rows[0].pk == failed.pk
    body = response.content.decode()
    assert "PID-7" in body and "Everyman" not in body.title()  # the problem, never the patient
    assert not AccessLogEntry.objects.exists()


def test_it_filters_by_status(client, intake, partner):
    many_messages(2)
    failed_referral()
    sign_in(client, intake)
    response = client.get(reverse("interfaces"), {"status": "ignored"})
    assert {m.status for m in response.context["page"].object_list} == {"ignored"}


def test_it_shows_the_raw_message_and_logs_the_access(client, intake, partner):
    failed = failed_referral()
    sign_in(client, intake)
    response = client.get(reverse("hl7_message", args=[failed.pk]))
    assert "EVERYMAN^ADAM" in response.content.decode()
    entry = AccessLogEntry.objects.get()
    assert (entry.object_type, entry.object_id, entry.username) == (
        "hl7_message",
        str(failed.pk),
        "intake",
    )


@pytest.mark.parametrize("role", ["liaison", "compliance", "triage"])
def test_it_keeps_other_roles_out(client, partner, role, request):
    failed = failed_referral()
    sign_in(client, request.getfixturevalue(role))
    assert client.get(reverse("interfaces")).status_code == 403
    assert client.get(reverse("hl7_message", args=[failed.pk])).status_code == 403
    assert not AccessLogEntry.objects.exists()


def test_it_logs_the_patient_an_adt_message_is_about(client, intake, partner):
    patient = factories.patient(mrn="PATID1234")
    message_receive(raw=data("ADT-A08-01.hl7"))
    sign_in(client, intake)
    client.get(reverse("hl7_message", args=[Hl7Message.objects.get().pk]))
    assert AccessLogEntry.objects.get().patient_id == patient.pk


def test_it_replays_a_corrected_message_and_keeps_the_first(client, manager, partner):
    failed = failed_referral()
    corrected = failed.raw_text.replace("III|Davis||", "III|Davis|19610615|", 1)
    sign_in(client, manager)
    response = client.post(reverse("hl7_message_replay", args=[failed.pk]), {"raw": corrected})
    replay = Hl7Message.objects.exclude(pk=failed.pk).get()
    assert response.url == reverse("hl7_message", args=[replay.pk])
    assert replay.status == Hl7Message.Status.PROCESSED and replay.replay_of_id == failed.pk
    assert Referral.objects.get().patient.last_name == "Everyman"
    failed.refresh_from_db()
    assert failed.status == Hl7Message.Status.ERROR and failed.replay_count == 1


def test_it_applies_a_reviewed_identifier_change(client, intake, partner):
    patient = factories.patient(mrn="MR102")
    message_receive(raw=data("ADT-A47-01.hl7"))
    review = MergeReview.objects.get()
    sign_in(client, intake)
    page = client.get(reverse("hl7_merges"))
    assert "MR102" in page.content.decode()
    assert AccessLogEntry.objects.filter(object_type="merge_review").count() == 1
    client.post(reverse("hl7_merge_decide", args=[review.pk]), {"decision": "apply"})
    review.refresh_from_db()
    patient.refresh_from_db()
    assert review.status == MergeReview.Status.APPLIED and review.decided_by == intake
    assert patient.mrn == "MR101"


def test_it_merges_two_records_only_when_a_person_applies_it(client, intake, partner, gi_line):
    kept = factories.patient(mrn="MR101")
    prior = factories.referral(line=gi_line).patient
    prior.mrn = "MR102"
    prior.save()
    message_receive(raw=data("ADT-A47-01.hl7"))
    assert Referral.objects.get().patient == prior  # queued, not applied
    review = MergeReview.objects.get()
    sign_in(client, intake)
    client.post(reverse("hl7_merge_decide", args=[review.pk]), {"decision": "apply"})
    assert Referral.objects.get().patient == kept
    assert Patient.objects.get(pk=prior.pk).mrn is None
    review.refresh_from_db()
    assert "merged into" in review.result


def test_it_rejects_a_merge_and_changes_nothing(client, intake, partner):
    patient = factories.patient(mrn="MR102")
    message_receive(raw=data("ADT-A47-01.hl7"))
    review = MergeReview.objects.get()
    sign_in(client, intake)
    client.post(reverse("hl7_merge_decide", args=[review.pk]), {"decision": "reject"})
    review.refresh_from_db()
    patient.refresh_from_db()
    assert review.status == MergeReview.Status.REJECTED and patient.mrn == "MR102"


def test_it_refuses_a_merge_whose_records_changed_since_it_was_asked(intake, partner, gi_line):
    """Queued: MR102 into MR101. Meanwhile MR102's record got another MRN (an identifier change
    applied first): the queued merge no longer names it, and merging it anyway would join two
    records nobody asked to join."""
    from refloop.core.errors import DomainError
    from refloop.interop.hl7v2.services import merge_review_decide

    kept = factories.patient(mrn="MR101")
    prior = factories.referral(line=gi_line).patient
    prior.mrn = "MR102"
    prior.save()
    message_receive(raw=data("ADT-A47-01.hl7"))
    review = MergeReview.objects.get()
    Patient.objects.filter(pk=prior.pk).update(mrn="MR103")
    with pytest.raises(DomainError, match="no longer has MRN MR102"):
        merge_review_decide(review_id=review.pk, apply=True, actor=intake)
    assert Referral.objects.get().patient_id == prior.pk and kept.referrals.count() == 0
    review.refresh_from_db()
    assert review.status == MergeReview.Status.PENDING
