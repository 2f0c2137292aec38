"""The portal's part of the demo: a portal account for one demo referring practice, and one
e-referral sent through the public form (a real HTTP request through Django's test Client, with
a real PDF) by a clinician of that practice, so the office finds it in its portal.

The office login is printed for the README: office@example.org / refloop-demo (a local demo's
shared password, like the staff demo logins; it is set directly, not through the validators).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from refloop.core.roles import OFFICE_GROUP
from refloop.demo.files import pdf_bytes
from refloop.demo.logins import DEMO_PASSWORD
from refloop.directory.enums import OrganizationKind
from refloop.directory.models import Clinician, ServiceLine
from refloop.portal.forms import reference_read
from refloop.portal.models import OfficeAccount
from refloop.portal.services.refer import SENDER_SYSTEM
from refloop.referrals.models import Referral

OFFICE_USERNAME = "office@example.org"


def demo_office_ensure(clinician: Clinician) -> OfficeAccount:
    """The demo office account at the clinician's practice (kept if it exists)."""
    user, created = User.objects.get_or_create(
        username=OFFICE_USERNAME, defaults={"email": OFFICE_USERNAME}
    )
    if created:
        user.password = make_password(DEMO_PASSWORD)
        user.save()
    user.groups.add(Group.objects.get_or_create(name=OFFICE_GROUP)[0])
    organization = clinician.organizations.order_by("roles__id").first()
    account, _ = OfficeAccount.objects.get_or_create(
        user=user, defaults={"organization": organization}
    )
    return account


def _upload(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/pdf")


def demo_receive() -> str:
    clinician = (
        Clinician.objects.filter(
            npi__isnull=False, roles__organization__kind=OrganizationKind.REFERRING_PRACTICE
        )
        .order_by("pk")
        .first()
    )
    line = ServiceLine.objects.filter(active=True).order_by("pk").first()
    if clinician is None or line is None:
        return "portal: no referring clinician or service line in the demo data"
    account = demo_office_ensure(clinician)
    host = "testserver" if "testserver" in settings.ALLOWED_HOSTS else settings.ALLOWED_HOSTS[0]
    client = Client(HTTP_HOST=host)
    url = reverse("refer_new", args=[line.code])
    form = client.get(url).content.decode()
    form_ref = re.search(r'name="form_ref" value="([^"]+)"', form).group(1)
    letter = pdf_bytes(
        "Referral letter",
        ["Patient: Rowan Ellery, born 1958-07-02", "Synthetic demo document - not a real patient."],
    )
    data = {
        "form_ref": form_ref,
        "patient_first_name": "Rowan",
        "patient_last_name": "Ellery",
        "patient_birth_date": "1958-07-02",
        "patient_sex": "male",
        "patient_phone": "(555) 010-6612",
        "patient_language": "English",
        "referrer_name": f"Dr {clinician.first_name} {clinician.last_name}",
        "referrer_npi": clinician.npi,
        "referrer_practice": account.organization.name,
        "referrer_fax": account.organization.fax or "555-010-7000",
        "reason": "Progressive hip pain on walking for eight months; conservative care failed.",
        "diagnoses": "M16.11",
        "priority": "routine",
        "other_documents": _upload("referral-letter.pdf", letter),
    }
    for item in line.checklist.all():
        data[f"doc_{item.pk}"] = _upload(f"{item.document_kind}.pdf", letter)
    response = client.post(url, data)
    if response.status_code != 302:
        return f"portal: the e-referral form answered {response.status_code}"
    referral = Referral.objects.get(
        sender_system=SENDER_SYSTEM, sender_reference=reference_read(form_ref)
    )
    return (
        f"portal: e-referral {referral.sender_reference} received as {referral.number} "
        f"({line.name}, sender not verified); office login {OFFICE_USERNAME} / {DEMO_PASSWORD} "
        f"for {account.organization.name}"
    )
