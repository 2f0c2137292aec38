"""Campaign e-mail to clinicians and their offices (never to patients)."""

from django.db import models


class Suppression(models.Model):
    """An address that unsubscribed (or bounced): no campaign or event invitation goes to it,
    for good. It never stops status updates or reports about a referrer's own patients."""

    email = models.EmailField(unique=True)  # stored lower-case
    reason = models.CharField(max_length=40, default="unsubscribed")
    source = models.CharField(max_length=120, blank=True)  # the campaign or page it came from
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.email
