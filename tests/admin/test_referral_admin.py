"""The referral admin is read-mostly: state changes only through the services."""

from django.urls import reverse

from refloop.core.models import AccessLogEntry
from refloop.referrals.enums import State
from refloop.referrals.models import Document, Referral, ReferralEvent
from refloop.referrals.services import referral_transition
from tests import factories


def change_form(referral, **changes) -> dict:
    data = {
        "reason": referral.reason,
        "diagnoses": ", ".join(referral.diagnoses),
        "receiving_clinician": "",
        "seen_version": str(referral.version),
    }
    for prefix in ("events", "blockers", "clocks", "checklist", "documents", "notes"):
        data[f"{prefix}-TOTAL_FORMS"] = "0"
        data[f"{prefix}-INITIAL_FORMS"] = "0"
    data.update(changes)
    return data


def test_it_shows_state_version_and_clocks_read_only(admin_web):
    referral = factories.referral()
    page = admin_web.get(reverse("admin:referrals_referral_change", args=[referral.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert referral.number in html
    for field in ("state", "version", "next_due_at", "received_at"):
        assert f'name="{field}"' not in html
    assert 'name="reason"' in html


def test_it_ignores_a_posted_state_and_keeps_the_lifecycle_in_charge(admin_web):
    referral = factories.referral()
    url = reverse("admin:referrals_referral_change", args=[referral.pk])
    data = change_form(referral, state=State.CANCELLED, version="99", reason="Left knee pain")
    response = admin_web.post(url, data)
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.state == State.RECEIVED
    assert referral.reason == "Left knee pain"
    assert referral.version == 2  # the correction bumps the version like any change


def test_it_checks_diagnoses_like_intake(admin_web):
    referral = factories.referral()
    url = reverse("admin:referrals_referral_change", args=[referral.pk])
    response = admin_web.post(url, change_form(referral, diagnoses="m17.11, knee"))
    assert response.status_code == 200
    assert "is not an ICD-10-CM code" in response.content.decode()
    response = admin_web.post(url, change_form(referral, diagnoses="m17.11; M25.561"))
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.diagnoses == ["M17.11", "M25.561"]


def test_it_refuses_a_save_on_top_of_someone_elses_change(admin_web, intake):
    referral = factories.referral()
    stale = change_form(referral, reason="Changed in the admin")
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=intake)
    url = reverse("admin:referrals_referral_change", args=[referral.pk])
    response = admin_web.post(url, stale)
    assert response.status_code == 200
    assert "Someone else changed this referral" in response.content.decode()
    referral.refresh_from_db()
    assert referral.state == State.TRIAGE
    assert referral.reason != "Changed in the admin"


def test_it_offers_no_add_or_delete_of_referrals(admin_web):
    referral = factories.referral()
    assert admin_web.get(reverse("admin:referrals_referral_add")).status_code == 403
    url = reverse("admin:referrals_referral_delete", args=[referral.pk])
    assert admin_web.post(url, {"post": "yes"}).status_code == 403
    assert Referral.objects.filter(pk=referral.pk).exists()


def test_it_finds_a_referral_by_its_number(admin_web):
    wanted, other = factories.referral(), factories.referral()
    page = admin_web.get(reverse("admin:referrals_referral_changelist"), {"q": wanted.number})
    html = page.content.decode()
    assert wanted.number in html
    assert other.number not in html


def test_it_filters_referrals_by_state(admin_web, intake):
    in_triage, received = factories.referral(), factories.referral()
    referral_transition(referral_id=in_triage.pk, to_state=State.TRIAGE, actor=intake)
    page = admin_web.get(reverse("admin:referrals_referral_changelist"), {"state": "triage"})
    html = page.content.decode()
    assert in_triage.number in html
    assert received.number not in html


def test_it_offers_events_for_reading_only(admin_web):
    referral = factories.referral()
    event = ReferralEvent.objects.filter(referral=referral).first()
    change = reverse("admin:referrals_referralevent_change", args=[event.pk])
    page = admin_web.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert "deletelink" not in page.content.decode()
    assert admin_web.post(change, {"note": "rewritten"}).status_code == 403
    assert admin_web.get(reverse("admin:referrals_referralevent_add")).status_code == 403
    delete = reverse("admin:referrals_referralevent_delete", args=[event.pk])
    assert admin_web.post(delete, {"post": "yes"}).status_code == 403
    changelist = admin_web.get(reverse("admin:referrals_referralevent_changelist"))
    assert "delete_selected" not in changelist.content.decode()
    assert ReferralEvent.objects.get(pk=event.pk).note == event.note


def test_it_offers_the_access_log_for_reading_only(admin_web):
    patient = factories.referral().patient
    admin_web.get(reverse("admin:directory_patient_change", args=[patient.pk]))
    entry = AccessLogEntry.objects.get()
    change = reverse("admin:core_accesslogentry_change", args=[entry.pk])
    page = admin_web.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_web.post(change, {"username": "someone"}).status_code == 403
    assert admin_web.get(reverse("admin:core_accesslogentry_add")).status_code == 403
    delete = reverse("admin:core_accesslogentry_delete", args=[entry.pk])
    assert admin_web.post(delete, {"post": "yes"}).status_code == 403
    changelist = admin_web.get(reverse("admin:core_accesslogentry_changelist"))
    assert "delete_selected" not in changelist.content.decode()
    assert AccessLogEntry.objects.filter(pk=entry.pk, username=entry.username).exists()


def test_it_links_documents_to_the_staff_view_never_to_the_file(admin_web):
    referral = factories.referral(complete=True)
    document = Document.objects.get(referral=referral)
    html = admin_web.get(
        reverse("admin:referrals_document_change", args=[document.pk])
    ).content.decode()
    assert document.original.name not in html
    assert f'href="{reverse("document_view", args=[document.pk])}"' in html
    html += admin_web.get(
        reverse("admin:referrals_referral_change", args=[referral.pk])
    ).content.decode()
    assert document.original.name not in html
    assert admin_web.get(reverse("admin:referrals_document_add")).status_code == 403
