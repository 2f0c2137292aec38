from django.db import models


class Audience(models.TextChoices):
    PATIENT = "patient", "Patient"
    REFERRER = "referrer", "Referrer"
    STAFF = "staff", "Staff"


class MessageChannel(models.TextChoices):
    SMS = "sms", "Text message"
    EMAIL = "email", "E-mail"
    FAX = "fax", "Fax"
    DIRECT = "direct", "Direct secure messaging"
    PORTAL = "portal", "Portal"
    LETTER = "letter", "Printed letter"
    HL7 = "hl7", "HL7 v2 interface"
    FHIR = "fhir", "FHIR API"


# Channels fit to carry PHI (DESIGN.md, Privacy): plain e-mail and texts carry only a link.
PHI_CHANNELS = frozenset(
    {
        MessageChannel.FAX,
        MessageChannel.DIRECT,
        MessageChannel.PORTAL,
        MessageChannel.LETTER,
        MessageChannel.HL7,
        MessageChannel.FHIR,
    }
)


class Purpose(models.TextChoices):
    INSTRUCTIONS = "instructions", "Visit instructions"
    REMINDER = "reminder", "Visit reminder"
    WAITLIST_OFFER = "waitlist_offer", "Earlier slot offered"
    CONTACT = "contact", "Contact attempt"
    OPT_OUT_CONFIRMATION = "opt_out", "Opt-out confirmation"
    SMS_REPLY = "sms_reply", "Answer to a text (HELP, START)"
    RECORDS_REQUEST = "records_request", "Missing records asked for"
    STATUS_UPDATE = "status_update", "Status update"
    DIGEST = "digest", "Daily status digest"
    DECLINE_LETTER = "decline_letter", "Decline letter"
    REPORT = "report", "Consult report"
    ALERT = "alert", "Staff alert"


# Automated texts to a patient that count toward the daily and weekly limits (TCPA): reminders,
# instructions and waitlist offers together. A reply confirming STOP is not counted.
COUNTED_PURPOSES = frozenset({Purpose.INSTRUCTIONS, Purpose.REMINDER, Purpose.WAITLIST_OFFER})

# Answers to a text the patient just sent (STOP, START, HELP): sent at once, to whoever asked,
# whatever the consent, the hour or the limits (CTIA expects the confirmation of STOP).
REPLY_PURPOSES = frozenset({Purpose.OPT_OUT_CONFIRMATION, Purpose.SMS_REPLY})


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    SUPPRESSED = "suppressed", "Not sent (rule)"


class InboundAction(models.TextChoices):
    OPTED_OUT = "opted_out", "Opted out (STOP)"
    OPTED_IN = "opted_in", "Opted in again (START)"
    HELP = "help", "Answered HELP"
    KEPT = "kept", "Kept for staff (no keyword)"
    UNKNOWN_NUMBER = "unknown_number", "No patient has this number"
