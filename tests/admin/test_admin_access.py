"""Who reaches the admin: staff only, and every page renders for them."""

import pytest
from django.contrib import admin
from django.urls import reverse

from refloop.core.models import AccessLogEntry
from refloop.directory.models import Patient
from tests import factories
from tests.admin.closed_referral import closed_referral
from tests.admin.conftest import signed_in_with_second_factor


@pytest.mark.parametrize("persona", ["intake", "liaison", "compliance", "manager"])
def test_it_keeps_people_who_are_not_staff_out(client, persona, request):
    user = request.getfixturevalue(persona)
    patient = factories.referral().patient
    signed_in_with_second_factor(client, user)
    for url in (
        reverse("admin:index"),
        reverse("admin:directory_patient_changelist"),
        reverse("admin:directory_patient_change", args=[patient.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    assert not AccessLogEntry.objects.exists()


def test_it_sends_an_anonymous_visitor_to_the_login_page(client):
    response = client.get(reverse("admin:directory_patient_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_it_renders_every_admin_page_for_an_admin(admin_web, intake, triage, scheduler, care_team):
    closed_referral(intake=intake, triage=triage, scheduler=scheduler, care_team=care_team)
    patient = Patient.objects.get()
    admin_web.get(reverse("admin:directory_patient_change", args=[patient.pk]))
    assert AccessLogEntry.objects.exists()  # so the access log's own pages have a row too
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        changelist = admin_web.get(reverse("admin:{}_{}_changelist".format(*info)))
        assert changelist.status_code == 200, info
        add = admin_web.get(reverse("admin:{}_{}_add".format(*info)))
        can_add = model_admin.has_add_permission(changelist.wsgi_request)
        assert add.status_code == (200 if can_add else 403), info
        first = model_admin.get_queryset(changelist.wsgi_request).first()
        if first is not None:
            change = admin_web.get(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
            assert change.status_code == 200, info
            history = admin_web.get(reverse("admin:{}_{}_history".format(*info), args=[first.pk]))
            assert history.status_code == 200, info
