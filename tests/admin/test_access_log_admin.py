"""DESIGN.md: the Django admin writes the access log too."""

from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refloop.core.models import AccessLogEntry
from refloop.directory.models import Patient
from refloop.referrals.models import Document
from tests import factories


def admin_entries():
    return AccessLogEntry.objects.filter(action=AccessLogEntry.Action.ADMIN)


def test_it_logs_a_patient_change_page_with_the_patient_id(admin_web, admin_user):
    referral = factories.referral()
    patient = referral.patient
    response = admin_web.get(reverse("admin:directory_patient_change", args=[patient.pk]))
    assert response.status_code == 200
    assert patient.last_name in response.content.decode()
    entry = admin_entries().get()
    assert (entry.object_type, entry.object_id, entry.patient_id) == (
        "patient",
        str(patient.pk),
        patient.pk,
    )
    assert entry.user == admin_user
    assert entry.path == f"/admin/directory/patient/{patient.pk}/change/"


def test_it_logs_one_entry_per_patient_row_on_the_list(admin_web):
    patients = [factories.referral().patient for _ in range(3)]
    response = admin_web.get(reverse("admin:directory_patient_changelist"))
    assert response.status_code == 200
    logged = sorted(admin_entries().values_list("object_type", "patient_id"))
    assert logged == sorted(("patient", p.pk) for p in patients)


def test_it_logs_only_the_rows_of_the_page_shown(admin_web):
    patients = [factories.referral().patient for _ in range(3)]
    admin_web.get(reverse("admin:directory_patient_changelist"), {"q": str(patients[1].pk)})
    assert list(admin_entries().values_list("patient_id", flat=True)) == [patients[1].pk]


def test_it_logs_the_history_page_of_a_patient(admin_web):
    patient = factories.referral().patient
    response = admin_web.get(reverse("admin:directory_patient_history", args=[patient.pk]))
    assert response.status_code == 200
    assert list(admin_entries().values_list("object_type", "patient_id")) == [
        ("patient", patient.pk)
    ]


def test_it_logs_a_referral_change_page_and_list(admin_web):
    referral = factories.referral()
    admin_web.get(reverse("admin:referrals_referral_change", args=[referral.pk]))
    admin_web.get(reverse("admin:referrals_referral_changelist"))
    logged = list(
        admin_entries().order_by("id").values_list("object_type", "object_id", "patient_id")
    )
    assert logged == [("referral", str(referral.pk), referral.patient_id)] * 2


def test_it_logs_documents_with_their_patient(admin_web):
    referral = factories.referral(complete=True)
    document = Document.objects.get(referral=referral)
    admin_web.get(reverse("admin:referrals_document_changelist"))
    admin_web.get(reverse("admin:referrals_document_change", args=[document.pk]))
    logged = list(admin_entries().values_list("object_type", "object_id", "patient_id"))
    assert logged == [("document", str(document.pk), referral.patient_id)] * 2


def test_it_logs_nothing_for_pages_without_patient_data(admin_web, line):
    admin_web.get(reverse("admin:directory_serviceline_changelist"))
    admin_web.get(reverse("admin:directory_serviceline_change", args=[line.pk]))
    assert not admin_entries().exists()


def test_it_keeps_patient_names_out_of_the_admin_history(admin_web):
    patient = factories.referral().patient
    url = reverse("admin:directory_patient_change", args=[patient.pk])
    data = {
        "mrn": "",
        "first_name": patient.first_name,
        "last_name": "Renamed",
        "birth_date": patient.birth_date.isoformat(),
        "sex": patient.sex,
        "preferred_language": "Spanish",
        "coverages-TOTAL_FORMS": "0",
        "coverages-INITIAL_FORMS": "0",
    }
    response = admin_web.post(url, data)
    assert response.status_code == 302
    assert Patient.objects.get(pk=patient.pk).last_name == "Renamed"
    history = LogEntry.objects.get()
    assert history.object_repr == f"patient {patient.pk}"
    assert "Renamed" not in history.object_repr + history.change_message
    index = admin_web.get(reverse("admin:index")).content.decode()
    assert "Renamed" not in index


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_it_lists_patients_referrals_and_documents_without_a_query_per_row(admin_web, line):
    factories.referral(line=line)
    urls = [
        reverse("admin:directory_patient_changelist"),
        reverse("admin:referrals_referral_changelist"),
        reverse("admin:referrals_document_changelist"),
        reverse("admin:referrals_referralevent_changelist"),
        reverse("admin:directory_coverage_changelist"),
        reverse("admin:directory_clinician_changelist"),
    ]
    one = [queries_for(admin_web, url) for url in urls]
    for _ in range(4):
        factories.referral(line=line)
    five = [queries_for(admin_web, url) for url in urls]
    assert five == one
