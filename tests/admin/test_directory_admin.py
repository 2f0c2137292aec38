from django.urls import reverse

from refloop.directory.enums import Priority, TargetKind, TargetUnit
from refloop.directory.models import Clinician, ResponseTarget
from tests import factories

CLINICIAN_ADD = "admin:directory_clinician_add"


def clinician_form(npi: str) -> dict:
    return {
        "first_name": "Robin",
        "last_name": "Okafor",
        "credentials": "MD",
        "npi": npi,
        "specialty": "Family medicine",
        "preferred_update_channel": "fax",
        "roles-TOTAL_FORMS": "0",
        "roles-INITIAL_FORMS": "0",
    }


def test_it_lets_an_admin_add_a_clinician_with_a_valid_npi(admin_web):
    good = factories.npi(4242)
    response = admin_web.post(reverse(CLINICIAN_ADD), clinician_form(good))
    assert response.status_code == 302
    assert Clinician.objects.get(npi=good).last_name == "Okafor"


def test_it_refuses_an_npi_with_a_bad_check_digit_and_says_why(admin_web):
    good = factories.npi(4242)
    bad = good[:9] + str((int(good[9]) + 1) % 10)
    response = admin_web.post(reverse(CLINICIAN_ADD), clinician_form(bad))
    assert response.status_code == 200
    assert "This NPI fails its check digit" in response.content.decode()
    assert not Clinician.objects.filter(last_name="Okafor").exists()


def test_it_refuses_an_npi_that_is_not_ten_digits(admin_web):
    response = admin_web.post(reverse(CLINICIAN_ADD), clinician_form("12345"))
    assert "An NPI is exactly 10 digits." in response.content.decode()
    assert not Clinician.objects.exists()


def test_it_adds_a_clinician_without_npi_as_unverified(admin_web):
    response = admin_web.post(reverse(CLINICIAN_ADD), clinician_form(""))
    assert response.status_code == 302
    clinician = Clinician.objects.get(last_name="Okafor")
    assert clinician.npi is None  # NULL, so several clinicians without NPI stay unique
    assert not clinician.verified


def service_line_form(line, targets, **changes) -> dict:
    data = {
        "name": line.name,
        "code": line.code,
        "active": "on",
        "description": "",
        "acceptance_criteria": "",
        "exclusions": "",
        "patient_instructions": "",
        "phone": "",
        "fax": "",
        "secure_email": "",
        "checklist-TOTAL_FORMS": "0",
        "checklist-INITIAL_FORMS": "0",
        "targets-TOTAL_FORMS": str(len(targets)),
        "targets-INITIAL_FORMS": str(len(targets)),
    }
    for i, target in enumerate(targets):
        data.update(
            {
                f"targets-{i}-id": str(target.pk),
                f"targets-{i}-service_line": str(line.pk),
                f"targets-{i}-priority": target.priority,
                f"targets-{i}-kind": target.kind,
                f"targets-{i}-amount": str(target.amount),
                f"targets-{i}-unit": target.unit,
            }
        )
    data.update(changes)
    return data


def ordered_targets(line):
    return list(ResponseTarget.objects.filter(service_line=line).order_by("pk"))


def test_it_lets_an_admin_edit_a_service_lines_targets_inline(admin_web, line):
    targets = ordered_targets(line)
    i = next(
        i
        for i, t in enumerate(targets)
        if t.kind == TargetKind.TRIAGE and t.priority == Priority.URGENT
    )
    url = reverse("admin:directory_serviceline_change", args=[line.pk])
    response = admin_web.post(url, service_line_form(line, targets, **{f"targets-{i}-amount": "5"}))
    assert response.status_code == 302
    targets[i].refresh_from_db()
    assert targets[i].amount == 5


def test_it_reports_a_target_in_the_wrong_unit_as_a_form_error(admin_web, line):
    targets = ordered_targets(line)
    i = next(i for i, t in enumerate(targets) if t.kind == TargetKind.APPOINTMENT)
    url = reverse("admin:directory_serviceline_change", args=[line.pk])
    data = service_line_form(line, targets, **{f"targets-{i}-unit": TargetUnit.BUSINESS_HOURS})
    response = admin_web.post(url, data)
    assert response.status_code == 200
    assert "Days to appointment are counted in calendar days" in response.content.decode()
    targets[i].refresh_from_db()
    assert targets[i].unit == TargetUnit.CALENDAR_DAYS


def test_it_adds_a_new_target_to_a_line(admin_web):
    line = factories.service_line(code="derm", name="Dermatology")
    ResponseTarget.objects.filter(service_line=line, kind=TargetKind.REPORT).delete()
    targets = ordered_targets(line)
    n = len(targets)
    data = service_line_form(
        line,
        targets,
        **{
            "targets-TOTAL_FORMS": str(n + 1),
            f"targets-{n}-service_line": str(line.pk),
            f"targets-{n}-priority": Priority.STAT,
            f"targets-{n}-kind": TargetKind.REPORT,
            f"targets-{n}-amount": "4",
            f"targets-{n}-unit": TargetUnit.BUSINESS_HOURS,
        },
    )
    response = admin_web.post(reverse("admin:directory_serviceline_change", args=[line.pk]), data)
    assert response.status_code == 302
    assert (
        ResponseTarget.objects.get(
            service_line=line, kind=TargetKind.REPORT, priority=Priority.STAT
        ).amount
        == 4
    )


def test_it_refuses_a_second_target_for_the_same_priority_and_kind(admin_web, line):
    targets = ordered_targets(line)
    n = len(targets)
    first = targets[0]
    data = service_line_form(
        line,
        targets,
        **{
            "targets-TOTAL_FORMS": str(n + 1),
            f"targets-{n}-service_line": str(line.pk),
            f"targets-{n}-priority": first.priority,
            f"targets-{n}-kind": first.kind,
            f"targets-{n}-amount": "99",
            f"targets-{n}-unit": first.unit,
        },
    )
    response = admin_web.post(reverse("admin:directory_serviceline_change", args=[line.pk]), data)
    assert response.status_code == 200
    assert "errornote" in response.content.decode()
    assert ResponseTarget.objects.filter(service_line=line).count() == n
