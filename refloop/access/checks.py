"""Start-up checks of access's settings: every text we send must fit one SMS segment with this
practice's name and base URL (texts name the practice in full; a cut-off text is refused)."""

import secrets

from django.conf import settings
from django.core.checks import Error, register

from refloop.access.services.links import TOKEN_BYTES
from refloop.access.services.patient_channels import (
    LONGEST_WHEN,
    SMS_LIMIT,
    SMS_TEMPLATES,
    sms_text,
)


@register()
def texts_fit(app_configs=None, **kwargs) -> list[Error]:
    link = f"{settings.REFLOOP_BASE_URL.rstrip('/')}/p/{secrets.token_urlsafe(TOKEN_BYTES)}/"
    longest = max(
        (sms_text(t.format(when=LONGEST_WHEN, link=link)) for t in SMS_TEMPLATES), key=len
    )
    if len(longest) < SMS_LIMIT:
        return []
    return [
        Error(
            f"Patient texts would run to {len(longest)} characters (the limit is {SMS_LIMIT - 1}).",
            hint="Shorten REFLOOP_PRACTICE_NAME or REFLOOP_BASE_URL (texts carry both).",
            id="refloop.access.E001",
        )
    ]
