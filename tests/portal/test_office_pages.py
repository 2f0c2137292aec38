"""An office's own referrals in the portal: status in its words, records it was asked for,
reports sent back; never another office's; every view in the access log."""

import pytest
from django.urls import reverse

from refloop.core.models import AccessLogEntry
from refloop.directory.enums import DocumentKind
from refloop.loop.models import RecordsRequest
from refloop.loop.services import records_follow_up, records_request
from refloop.referrals.enums import BlockerKind, ChecklistStatus, State
from refloop.referrals.services import referral_transition
from tests import factories
from tests.factories import PDF_BYTES


def sent_by(office, line, **kwargs):
    return factories.referral(line=line, clinician=office.clinician, **kwargs)


@pytest.fixture
def signed_in(client, office_user):
    client.force_login(office_user)
    return client


def test_it_lists_the_office_referrals_in_its_words(signed_in, office_user, office_user_b, line):
    mine = sent_by(office_user, line, last_name="Okafor")
    referral_transition(referral_id=mine.pk, to_state=State.TRIAGE, actor=None)
    missing = sent_by(office_user, line, last_name="Lindqvist", complete=False)
    theirs = sent_by(office_user_b, line, last_name="Birchwood")

    page = signed_in.get(reverse("office_home")).content.decode()

    assert mine.number in page and "Okafor" in page and "Under review" in page
    assert missing.number in page and "Send the records we asked for" in page
    assert theirs.number not in page and "Birchwood" not in page


def test_it_answers_404_for_another_office_referral_and_its_documents(
    signed_in, office_user, office_user_b, line
):
    theirs = sent_by(office_user_b, line)
    document = theirs.documents.get()

    assert signed_in.get(reverse("office_referral", args=[theirs.pk])).status_code == 404
    upload = signed_in.post(reverse("office_upload", args=[theirs.pk]), {"item": 1, "file": _pdf()})
    download = signed_in.get(reverse("office_document", args=[theirs.pk, document.pk]))
    assert upload.status_code == 404 and download.status_code == 404


def test_it_does_not_serve_documents_that_were_not_sent_to_the_office(signed_in, office_user, line):
    mine = sent_by(office_user, line)
    notes = mine.documents.get()  # what the office sent us: not a letter or report to them

    response = signed_in.get(reverse("office_document", args=[mine.pk, notes.pk]))

    assert response.status_code == 404


def test_it_writes_the_access_log_with_the_office_user(signed_in, office_user, line):
    mine = sent_by(office_user, line)

    signed_in.get(reverse("office_home"))
    signed_in.get(reverse("office_referral", args=[mine.pk]))

    entries = AccessLogEntry.objects.filter(user=office_user).order_by("id")
    assert [(e.action, e.object_type, e.object_id, e.patient_id) for e in entries] == [
        ("list", "referral", str(mine.pk), mine.patient_id),
        ("view", "referral", str(mine.pk), mine.patient_id),
    ]
    assert entries[0].username == office_user.username


def test_it_logs_an_empty_list_too(signed_in, office_user):
    signed_in.get(reverse("office_home"))

    entry = AccessLogEntry.objects.get(user=office_user)
    assert (entry.action, entry.object_type) == ("list", "organization")


def _pdf(name="notes.pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def test_it_takes_the_records_asked_for_and_ticks_the_checklist(
    signed_in, office_user, line, intake
):
    mine = sent_by(office_user, line, complete=False)
    request = records_request(referral_id=mine.pk, actor=intake)
    item = mine.checklist.get()
    page = signed_in.get(reverse("office_referral", args=[mine.pk])).content.decode()
    assert "Clinical notes (asked for)" in page

    response = signed_in.post(
        reverse("office_upload", args=[mine.pk]), {"item": item.pk, "file": _pdf()}
    )

    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == ChecklistStatus.RECEIVED and item.document.kind == DocumentKind.NOTES
    assert not mine.blockers.filter(
        kind=BlockerKind.MISSING_RECORDS, resolved_at__isnull=True
    ).exists()
    # Loop's request stops asking once nothing is missing.
    records_follow_up(request_id=request.pk, now=factories.ago(seconds=-1))
    assert not RecordsRequest.objects.get(pk=request.pk).is_open
    assert (
        "Nothing is missing."
        in signed_in.get(reverse("office_referral", args=[mine.pk])).content.decode()
    )


def test_it_refuses_an_upload_of_the_wrong_type_and_says_why(signed_in, office_user, line):
    from django.core.files.uploadedfile import SimpleUploadedFile

    mine = sent_by(office_user, line, complete=False)
    item = mine.checklist.get()
    text = SimpleUploadedFile("notes.pdf", b"just text", content_type="application/pdf")

    response = signed_in.post(
        reverse("office_upload", args=[mine.pk]), {"item": item.pk, "file": text}
    )

    assert response.status_code == 400
    assert "is not a PDF, TIFF, PNG or JPEG file" in response.content.decode()
    item.refresh_from_db()
    assert item.status == ChecklistStatus.REQUIRED


def test_it_lists_in_the_same_number_of_queries_for_1_and_30_referrals(
    signed_in, office_user, line, django_assert_max_num_queries
):
    sent_by(office_user, line)
    with django_assert_max_num_queries(16) as one:
        signed_in.get(reverse("office_home"))
    for _ in range(29):
        sent_by(office_user, line, complete=False)

    with django_assert_max_num_queries(len(one.captured_queries)):
        page = signed_in.get(reverse("office_home"))

    assert page.content.decode().count("/office/referrals/") == 30
