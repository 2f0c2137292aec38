"""The inbox's part of the demo: a signed multi-patient fax posted to the real webhook, split, and
one part filed to a new referral; the other part is left unfiled so the inbox has work in it.

The fax is a real PDF (reportlab), one synthetic referral letter per patient.
"""

from __future__ import annotations

import datetime as dt
import io
import json

from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

from refloop.directory.models import Clinician, ServiceLine
from refloop.inbox.models import InboxDocument
from refloop.inbox.services import inbox_document_split, inbox_part_file_new_referral
from refloop.referrals.services import PatientData, ReferralSubmission, ReferrerData

DEMO_TOKEN = "demo-phaxio-callback-token"

# (patient, pages of their letter): all synthetic.
LETTERS = [
    ("Morgan Fieldstone", "1961-04-12", "Right knee osteoarthritis, failed 3 months of PT", 2),
    ("Casey Wexford", "1984-09-30", "Recurrent shoulder dislocation after a fall", 1),
]


def fax_pdf(letters=LETTERS, *, sender="Maple Family Practice") -> bytes:
    """A faxed batch of referral letters, one or more pages each, as one real PDF."""
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=letter)
    for name, birth_date, reason, pages in letters:
        for n in range(1, pages + 1):
            page.setFont("Helvetica-Bold", 16)
            page.drawString(72, 720, f"{sender} - referral ({n} of {pages})")
            page.setFont("Helvetica", 12)
            page.drawString(72, 690, f"Patient: {name}   DOB: {birth_date}")
            page.drawString(72, 670, f"Reason: {reason}")
            page.drawString(72, 650, "Synthetic demo document - not a real patient.")
            page.showPage()
    page.save()
    return out.getvalue()


def phaxio_post(client: Client, *, fax: dict, pdf: bytes, token: str):
    """POST a Phaxio v2.1 receive callback, signed as Phaxio signs it."""
    from refloop.interop.fax_hooks import PhaxioAdapter

    path = reverse("fax_inbound", args=["phaxio"])
    fields = {"fax": json.dumps(fax), "direction": "received", "is_test": "true", "success": "true"}
    signature = PhaxioAdapter.signature(
        url=settings.REFLOOP_BASE_URL.rstrip("/") + path,
        params=list(fields.items()),
        files=[("file", pdf)],
        token=token,
    )
    upload = io.BytesIO(pdf)
    upload.name = "fax.pdf"
    return client.post(path, {**fields, "file": upload}, HTTP_X_PHAXIO_SIGNATURE=signature)


def _referrer() -> ReferrerData:
    """The coordinator recognises the letterhead: a referrer already in the directory, whose
    practice can be faxed back (the last in the directory: the portal demo's office is the first
    practice, and an office on the portal is answered there)."""
    clinician = Clinician.objects.exclude(npi=None).exclude(fax="").order_by("-pk").first()
    if clinician is None:
        return ReferrerData(name="Dr Robin Maple", organization_name="Maple Family Practice")
    return ReferrerData(npi=clinician.npi, clinician_id=clinician.pk)


def demo_receive() -> str:
    from django.contrib.auth import get_user_model

    from refloop.core.roles import Role

    now = timezone.now()
    fax_id = int(now.timestamp())
    fax = {
        "id": fax_id,
        "direction": "received",
        "num_pages": 3,
        "status": "success",
        "is_test": True,
        "from_number": "+15550104477",
        "to_number": "+15550102000",
        "created_at": (now - dt.timedelta(minutes=3)).isoformat(),
        "completed_at": (now - dt.timedelta(minutes=2)).isoformat(),
    }
    with override_settings(PHAXIO_CALLBACK_TOKEN=DEMO_TOKEN):
        response = phaxio_post(Client(), fax=fax, pdf=fax_pdf(), token=DEMO_TOKEN)
    if response.status_code != 200:
        return f"inbox: the fax webhook answered {response.status_code}"
    document = InboxDocument.objects.get(pk=response.json()["id"])
    intake = (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.INTAKE.label)
        .order_by("pk")
        .first()
    )
    line = ServiceLine.objects.filter(active=True).order_by("pk").first()
    if intake is None or line is None:
        return f"inbox: fax {document.pk} received ({document.page_count} pages), left unfiled"
    first, _second = inbox_document_split(
        document_id=document.pk, ranges=[(1, 2), (3, 3)], actor=intake
    )
    name, birth_date, reason, _pages = LETTERS[0]
    result = inbox_part_file_new_referral(
        part_id=first.pk,
        submission=ReferralSubmission(
            patient=PatientData(
                first_name=name.split()[0],
                last_name=name.split()[1],
                birth_date=dt.date.fromisoformat(birth_date),
            ),
            referrer=_referrer(),
            service_line_id=line.pk,
            reason=reason,
            channel="fax",
        ),
        actor=intake,
    )
    return (
        f"inbox: fax {document.pk} ({document.page_count} pages) received by the Phaxio webhook, "
        f"split in 2; pages 1-2 filed as {result.referral.number}, page 3 left unfiled"
    )
