from django.conf import settings
from django.db import models

from refloop.directory.enums import UpdateChannel
from refloop.referrals.models import Document, Referral


class ReportSent(models.Model):
    """The consult report sent back to the referrer: it closes the referral (minimal for now)."""

    # The report goes by one of the channels a referrer can prefer for updates.
    Channel = UpdateChannel

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="reports_sent")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    sent_at = models.DateTimeField()
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["sent_at", "id"]
