"""The staff pages of the inbox, as the intake coordinator uses them."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from refloop.core.models import AccessLogEntry
from refloop.inbox.models import InboxDocument, InboxPart, InboxStatus
from refloop.inbox.services import inbox_document_split
from refloop.referrals.enums import Channel, ChecklistStatus
from refloop.referrals.models import Referral
from tests import factories
from tests.inbox.conftest import received


@pytest.fixture
def as_intake(client, intake):
    client.force_login(intake)
    return client


def test_it_lists_unfiled_documents_oldest_first_with_their_clock(as_intake, intake):
    now = timezone.now()
    newer = received(provider_id="newer", received_at=now - dt.timedelta(minutes=5))
    older = received(provider_id="older", received_at=now - dt.timedelta(days=3))
    done = received(provider_id="done")
    done.status = InboxStatus.DISCARDED
    done.save()
    response = as_intake.get(reverse("inbox"))
    assert response.status_code == 200
    html = response.content.decode()
    waiting = html.split('id="inbox-waiting"')[1].split("</table>")[0]
    assert waiting.index(f">Fax {older.pk}<") < waiting.index(f">Fax {newer.pk}<")
    assert f">Fax {done.pk}<" not in waiting
    assert "Overdue" in waiting and "On track" in waiting
    assert f">Fax {done.pk}<" in as_intake.get(reverse("inbox") + "?show=done").content.decode()


def test_it_lists_with_a_bounded_number_of_queries(
    as_intake, intake, django_assert_max_num_queries
):
    """The same queries for 2 documents as for 30 (the session, the person and the alert count
    take 11 of them; the list itself one)."""

    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert as_intake.get(url).status_code == 200
        return len(queries)

    def add(n):
        for _ in range(n):
            document = received(provider_id=f"bulk-{InboxDocument.objects.count()}")
            inbox_document_split(document_id=document.pk, ranges=[(1, 2), (3, 3)], actor=intake)

    add(2)
    few, few_done = count(reverse("inbox")), count(reverse("inbox") + "?show=done")
    add(28)
    InboxDocument.objects.filter(pk__lte=10).update(status=InboxStatus.FILED)
    with django_assert_max_num_queries(12):
        response = as_intake.get(reverse("inbox"))
    assert response.content.decode().count('href="/inbox/') >= 20
    assert count(reverse("inbox")) == few
    assert count(reverse("inbox") + "?show=done") == few_done


@pytest.mark.parametrize("persona", ["liaison", "compliance", "triage"])
def test_it_refuses_people_who_do_not_receive_referrals(client, fax_document, persona, request):
    client.force_login(request.getfixturevalue(persona))
    (part,) = inbox_document_split(
        document_id=fax_document.pk, ranges=[(1, 3)], actor=request.getfixturevalue("intake")
    )
    for url in (
        reverse("inbox"),
        reverse("inbox_document", args=[fax_document.pk]),
        reverse("inbox_document_view", args=[fax_document.pk]),
        reverse("inbox_document_original", args=[fax_document.pk]),
        reverse("inbox_part_view", args=[part.pk]),
        reverse("inbox_part_file", args=[part.pk]),
        reverse("referral_new") + f"?inbox_part={part.pk}",
    ):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(reverse("inbox_split", args=[fax_document.pk]), {"ranges": "1"}).status_code
        == 403
    )
    assert not AccessLogEntry.objects.filter(object_type="inbox_document").exists()


def test_it_shows_the_pages_and_logs_every_look(as_intake, intake, fax_document):
    page = as_intake.get(reverse("inbox_document", args=[fax_document.pk]))
    assert page.status_code == 200
    assert (
        f'src="{reverse("inbox_document_view", args=[fax_document.pk])}"' in page.content.decode()
    )
    pdf = as_intake.get(reverse("inbox_document_view", args=[fax_document.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["X-Frame-Options"] == "SAMEORIGIN"  # shown in the page's own iframe
    assert b"".join(pdf.streaming_content)[:5] == b"%PDF-"
    original = as_intake.get(reverse("inbox_document_original", args=[fax_document.pk]))
    assert "attachment" in original["Content-Disposition"]
    entries = AccessLogEntry.objects.filter(
        object_type="inbox_document", object_id=str(fax_document.pk), user=intake
    )
    assert sorted(entries.values_list("action", flat=True)) == ["download", "download", "view"]


def test_it_splits_and_files_a_part_to_a_referral_checklist_item(as_intake, fax_document, line):
    referral = factories.referral(line=line, complete=False)
    item = referral.checklist.get()
    response = as_intake.post(reverse("inbox_split", args=[fax_document.pk]), {"ranges": "1-2, 3"})
    assert response.status_code == 302
    first, second = InboxPart.objects.order_by("first_page")
    bad = as_intake.post(reverse("inbox_split", args=[fax_document.pk]), {"ranges": "1-9"})
    assert bad.status_code == 400 and "not within 1-3" in bad.content.decode()

    found = as_intake.get(
        reverse("inbox_part_file", args=[second.pk]), {"referral": referral.number}
    )
    assert found.status_code == 200 and referral.patient.last_name in found.content.decode()
    assert AccessLogEntry.objects.filter(
        object_type="referral", object_id=str(referral.pk), patient_id=referral.patient_id
    ).exists()
    missing = as_intake.get(reverse("inbox_part_file", args=[second.pk]), {"referral": "R-9999999"})
    assert missing.status_code == 404

    filed = as_intake.post(
        reverse("inbox_part_file", args=[second.pk]),
        {"referral": referral.number, "kind": "notes", "checklist_item": str(item.pk)},
    )
    assert filed.status_code == 302
    item.refresh_from_db()
    second.refresh_from_db()
    assert item.status == ChecklistStatus.RECEIVED and second.referral == referral
    fax_document.refresh_from_db()
    assert fax_document.status == InboxStatus.PARTLY_FILED
    again = as_intake.post(
        reverse("inbox_part_file", args=[second.pk]), {"referral": referral.number, "kind": "notes"}
    )
    assert again.status_code == 409 and referral.documents.count() == 1


def test_it_files_a_part_to_a_new_referral_through_the_intake_form(
    as_intake, fax_document, intake, line, clinician
):
    first, second = inbox_document_split(
        document_id=fax_document.pk, ranges=[(1, 2), (3, 3)], actor=intake
    )
    url = reverse("referral_new") + f"?inbox_part={first.pk}"
    form = as_intake.get(url)
    html = form.content.decode()
    assert form.status_code == 200
    assert reverse("inbox_part_view", args=[first.pk]) in html
    assert f'action="{url}"' in html.replace("&amp;", "&")
    part_pdf = as_intake.get(reverse("inbox_part_view", args=[first.pk]))
    assert part_pdf["X-Frame-Options"] == "SAMEORIGIN"
    assert b"".join(part_pdf.streaming_content).startswith(b"%PDF-")
    response = as_intake.post(
        url,
        {
            "first_name": "Morgan",
            "last_name": "Fieldstone",
            "birth_date": "1961-04-12",
            "sex": "unknown",
            "preferred_language": "English",
            "referrer": str(clinician.pk),
            "service_line": str(line.pk),
            "priority": "routine",
            "channel": "phone",
            "reason": "Right knee osteoarthritis",
            "kind_1": "notes",
            "kind_2": "notes",
            "kind_3": "notes",
            "kind_4": "notes",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    referral = Referral.objects.get()
    assert referral.channel == Channel.FAX and referral.documents.count() == 1
    first.refresh_from_db()
    assert first.referral == referral and first.new_referral
    # The other patient's page is still waiting, on the clock.
    fax_document.refresh_from_db()
    assert fax_document.status == InboxStatus.PARTLY_FILED and fax_document.next_check_at


def test_it_discards_with_a_reason(as_intake, fax_document):
    refused = as_intake.post(reverse("inbox_discard", args=[fax_document.pk]), {"reason": ""})
    assert refused.status_code == 400
    done = as_intake.post(reverse("inbox_discard", args=[fax_document.pk]), {"reason": "Junk fax"})
    assert done.status_code == 302
    fax_document.refresh_from_db()
    assert (
        fax_document.status == InboxStatus.DISCARDED and fax_document.discard_reason == "Junk fax"
    )
