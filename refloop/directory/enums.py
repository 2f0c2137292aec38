from django.db import models


class Priority(models.TextChoices):
    ROUTINE = "routine", "Routine"
    URGENT = "urgent", "Urgent"
    STAT = "stat", "Stat"


class TargetKind(models.TextChoices):
    """The response targets of DESIGN.md's Clocks, in the order a referral meets them."""

    ACKNOWLEDGE = "acknowledge", "Acknowledge the referrer"
    TRIAGE = "triage", "Triage decision"
    FIRST_CONTACT = "first_contact", "First contact with the patient"
    APPOINTMENT = "appointment", "Days to appointment"
    REPORT = "report", "Report back after the visit"


class TargetUnit(models.TextChoices):
    BUSINESS_HOURS = "business_hours", "business hours"
    CALENDAR_DAYS = "calendar_days", "calendar days"


class OrganizationKind(models.TextChoices):
    REFERRING_PRACTICE = "referring_practice", "Referring practice"
    OWN_FACILITY = "own_facility", "Own facility"
    HOSPITAL = "hospital", "Hospital"


class UpdateChannel(models.TextChoices):
    FAX = "fax", "Fax"
    DIRECT = "direct", "Direct secure messaging"
    PORTAL = "portal", "Referring-office portal"
    EHR = "ehr", "EHR interface"
    MAIL = "mail", "Mail"


class DocumentKind(models.TextChoices):
    REFERRAL_LETTER = "referral_letter", "Referral letter"
    NOTES = "notes", "Clinical notes"
    IMAGING = "imaging", "Imaging"
    LABS = "labs", "Labs"
    INSURANCE_CARD = "insurance_card", "Insurance card"
    REPORT = "report", "Consult report"
    OTHER = "other", "Other"
