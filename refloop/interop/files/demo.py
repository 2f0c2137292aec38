"""The demo's spreadsheet: a referring clinic's EHR export imported through the real import
(source, run, chunks, quarantine), one row deliberately bad so the quarantine has something."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

from django.db import transaction
from django.utils import timezone

from refloop.directory.models import Clinician, ServiceLine
from refloop.interop.files.models import ImportSource
from refloop.interop.files.services import import_run_process, import_start

SOURCE = "Northside Clinic EHR export"
MAPPING = {
    "columns": {
        "sender_reference": "Referral ID",
        "patient_first_name": "Pt First",
        "patient_last_name": "Pt Last",
        "patient_birth_date": "DOB",
        "patient_sex": "Sex",
        "patient_mrn": "Northside MRN",
        "referrer_npi": "Ordering NPI",
        "referrer_name": "Ordering Provider",
        "referrer_organization": "Clinic",
        "service_line": "Refer To",
        "priority": "Urgency",
        "reason": "Reason For Referral",
        "diagnoses": "ICD10",
        "received_at": "Sent",
    },
    "values": {
        "priority": {"Routine": "routine", "Urgent": "urgent", "STAT": "stat"},
        "patient_sex": {"F": "female", "M": "male", "U": "unknown"},
    },
    "date_formats": ["%m/%d/%Y"],
    "datetime_formats": ["%m/%d/%Y %H:%M"],
}
FIRST = ["Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Harper", "Jules", "Kai", "Logan"]
LAST = ["Northam", "Sidwell", "Brookes", "Fairlie", "Halden", "Ingram", "Kestrel", "Lowry"]
REASONS = {
    "orthopedics": ("Right knee pain, failed conservative care", "M17.11"),
    "cardiology": ("Exertional chest tightness", "R07.89"),
    "gastroenterology": ("Iron deficiency anaemia, needs scope", "D50.9"),
    "dermatology": ("Changing pigmented lesion on the back", "D48.5"),
    "oncology": ("Abnormal mammogram, biopsy positive", "C50.911"),
    "imaging": ("MRI lumbar spine, radiculopathy", "M54.16"),
}


def demo_receive() -> str:
    """Import a 12-row export (one row without its referral id) and say what happened."""
    rng = random.Random(12)
    with transaction.atomic():
        source, _ = ImportSource.objects.update_or_create(
            name=SOURCE, defaults={"mapping": MAPPING}
        )
    lines = list(ServiceLine.objects.filter(active=True).order_by("pk"))
    clinicians = list(Clinician.objects.filter(referrals_sent__isnull=False).distinct()[:5])
    now = timezone.localtime()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(MAPPING["columns"].values())
    for n in range(12):
        line = lines[n % len(lines)]
        reason, code = REASONS.get(line.code, ("Specialist opinion requested", "R69"))
        clinician = clinicians[n % len(clinicians)] if clinicians else None
        sent = now - dt.timedelta(hours=2 + 3 * n)
        writer.writerow(
            [
                "" if n == 7 else f"NS-{now:%y%m%d}-{n + 1:03d}",  # row 9: no referral id
                rng.choice(FIRST),
                rng.choice(LAST),
                f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(1940, 2005)}",
                rng.choice("FMU"),
                f"NS{rng.randint(100000, 999999)}",
                clinician.npi if clinician else "",
                str(clinician) if clinician else "Dr Northside",
                "Northside Clinic",
                line.name,
                "Urgent" if n % 5 == 0 else "Routine",
                reason,
                code,
                f"{sent:%m/%d/%Y %H:%M}",
            ]
        )
    run = import_start(
        source_id=source.pk,
        filename="northside-export.csv",
        content=out.getvalue().encode(),
        actor=None,
        queue=False,
    )
    run = import_run_process(run_id=run.pk)
    reasons = "; ".join(" ".join(q.reasons) for q in run.quarantine.all())
    return (
        f"Spreadsheet: {SOURCE}, import {run.pk} {run.status}: {run.created} referrals new, "
        f"{run.duplicate} already here, {run.quarantined} quarantined ({reasons})."
    )
