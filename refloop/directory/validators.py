"""Identifiers a referral carries: NPI and ICD-10-CM codes."""

import re

from django.core.exceptions import ValidationError

ICD10CM = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$", re.IGNORECASE)


def npi_is_valid(npi: str) -> bool:
    """Luhn check over the NPI with the 80840 prefix (the card issuer prefix for US health)."""
    if not (len(npi) == 10 and npi.isdigit()):
        return False
    total = 0
    for position, char in enumerate(reversed("80840" + npi)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def npi_check_digit(first_nine: str) -> str:
    """The tenth digit that makes first_nine a valid NPI (for synthetic demo clinicians)."""
    for digit in "0123456789":
        if npi_is_valid(first_nine + digit):
            return digit
    raise ValueError(first_nine)


def validate_npi(value: str) -> None:
    if not (len(value) == 10 and value.isdigit()):
        raise ValidationError("An NPI is exactly 10 digits.", code="npi_format")
    if not npi_is_valid(value):
        raise ValidationError(
            "This NPI fails its check digit (Luhn over the 80840 prefix); check for a typo.",
            code="npi_check_digit",
        )


def validate_icd10cm(value: str) -> None:
    if not ICD10CM.match(value):
        raise ValidationError(
            f"'{value}' is not an ICD-10-CM code (a letter, two characters, optional dot and up "
            "to four more, e.g. M17.11).",
            code="icd10cm_format",
        )
