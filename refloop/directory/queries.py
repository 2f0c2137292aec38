"""Reads of the directory for other apps."""

from __future__ import annotations

import re

from refloop.directory.models import Patient, ServiceLine


def patient_ids_with_phone(*, digits: str) -> list[int]:
    """Patients whose phone is this number, however it was typed (`digits`: national digits).

    Phones are stored as typed, so the database narrows on the last four digits (contiguous in
    every usual format) and the digits are compared here.
    """
    if len(digits) < 7:
        return []
    rows = Patient.objects.filter(phone__contains=digits[-4:]).values_list("pk", "phone")
    return [pk for pk, phone in rows if phone_national_digits(phone) == digits]


def phone_national_digits(value: str) -> str:
    """A phone number as its national digits: "+1 (555) 010-2000" and "555.010.2000" match."""
    digits = re.sub(r"\D", "", value or "")
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def service_line_names() -> list[str]:
    return list(ServiceLine.objects.values_list("name", flat=True))


def patient_consents(*, patient_ids: list[int]) -> bool:
    """Whether any of these patients gave consent to texts."""
    return Patient.objects.filter(pk__in=patient_ids, sms_consent=True).exists()
