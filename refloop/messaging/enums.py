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


# Channels fit to carry PHI (DESIGN.md, Privacy): plain e-mail and texts carry only a link.
PHI_CHANNELS = frozenset(
    {MessageChannel.FAX, MessageChannel.DIRECT, MessageChannel.PORTAL, MessageChannel.LETTER}
)


class Purpose(models.TextChoices):
    INSTRUCTIONS = "instructions", "Visit instructions"
    REMINDER = "reminder", "Visit reminder"
    WAITLIST_OFFER = "waitlist_offer", "Earlier slot offered"
    CONTACT = "contact", "Contact attempt"
    OPT_OUT_CONFIRMATION = "opt_out", "Opt-out confirmation"
    RECORDS_REQUEST = "records_request", "Missing records asked for"
    STATUS_UPDATE = "status_update", "Status update"
    DIGEST = "digest", "Daily status digest"
    DECLINE_LETTER = "decline_letter", "Decline letter"
    REPORT = "report", "Consult report"
    ALERT = "alert", "Staff alert"


# Automated texts to a patient that count toward the daily and weekly limits (TCPA): reminders,
# instructions and waitlist offers together. A reply confirming STOP is not counted.
COUNTED_PURPOSES = frozenset({Purpose.INSTRUCTIONS, Purpose.REMINDER, Purpose.WAITLIST_OFFER})


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    SUPPRESSED = "suppressed", "Not sent (rule)"
