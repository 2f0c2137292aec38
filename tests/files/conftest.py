import csv
import io

import pytest
from openpyxl import Workbook

from refloop.interop.files.models import ImportSource

COLUMNS = {
    "sender_reference": "RefID",
    "patient_first_name": "First",
    "patient_last_name": "Last",
    "patient_birth_date": "DOB",
    "patient_mrn": "MRN",
    "referrer_npi": "Referring NPI",
    "referrer_name": "Referring Provider",
    "service_line": "Specialty",
    "priority": "Urgency",
    "reason": "Reason",
    "diagnoses": "Dx",
    "received_at": "Referral Date",
}
HEADER = list(COLUMNS.values())


@pytest.fixture
def northside(line):
    return ImportSource.objects.create(
        name="Northside Clinic EHR export",
        mapping={
            "columns": dict(COLUMNS),
            "values": {
                "priority": {"STAT": "stat", "Urgent": "urgent", "Normal": "routine"},
                "service_line": {"Ortho": "orthopedics", "Bones & Joints": "orthopedics"},
            },
            "date_formats": ["%m/%d/%Y"],
            "datetime_formats": ["%m/%d/%Y %H:%M"],
        },
    )


def row(n, clinician=None, **overrides):
    values = {
        "RefID": f"NS-{n:04d}",
        "First": "Jordan",
        "Last": f"Importee{n}",
        "DOB": "04/12/1961",
        "MRN": "",
        "Referring NPI": clinician.npi if clinician else "",
        "Referring Provider": "Dr Dana Referrer",
        "Specialty": "Ortho",
        "Urgency": "Normal",
        "Reason": "Knee pain, failed physiotherapy",
        "Dx": "M17.11",
        "Referral Date": "03/02/2026 09:30",
    }
    values.update(overrides)
    return values


def csv_bytes(rows, header=None) -> bytes:
    header = header or list({k: None for r in rows for k in r})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def xlsx_bytes(rows, header=None) -> bytes:
    header = header or list({k: None for r in rows for k in r})
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for r in rows:
        sheet.append([r.get(h, "") for h in header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
