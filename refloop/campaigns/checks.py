"""System checks of campaigns: every campaign e-mail must carry the practice's postal address
(CAN-SPAM), so an installation with campaigns and no address does not start."""

from django.conf import settings
from django.core.checks import Error, Warning, register

DEMO_MARK = "(demo address)"


@register()
def postal_address_check(app_configs, **kwargs):
    address = getattr(settings, "REFLOOP_PRACTICE_POSTAL_ADDRESS", "") or ""
    if not address.strip():
        return [
            Error(
                "REFLOOP_PRACTICE_POSTAL_ADDRESS is empty.",
                hint="Campaign e-mail must carry the practice's valid postal address (CAN-SPAM).",
                id="campaigns.E001",
            )
        ]
    if DEMO_MARK in address and not settings.DEBUG:
        return [
            Warning(
                "REFLOOP_PRACTICE_POSTAL_ADDRESS is still the demo address.",
                hint="Set the practice's real postal address before sending campaigns.",
                id="campaigns.W001",
            )
        ]
    return []
