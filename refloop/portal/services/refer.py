"""The public e-referral form's one write: a ReferralSubmission through referral_receive (One
way in), the sender marked "not verified" until staff confirm them."""

from __future__ import annotations

import secrets

from django.db import transaction

from refloop.referrals.enums import BlockerKind, Channel
from refloop.referrals.models import Referral
from refloop.referrals.services import (
    ReferralSubmission,
    blocker_open,
    files_removed_on_failure,
    referral_receive,
)

SENDER_SYSTEM = "refloop-portal"
REFERENCE_PREFIX = "RF-"
# No 0/O or 1/I/L: the reference is read out over the phone.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
NOT_VERIFIED_NOTE = (
    "Sent through the public e-referral form: anyone can type a name and NPI there. Confirm the "
    "referrer (call the practice) before acting on the referral."
)


def reference_new() -> str:
    """The sender's reference, issued with the form: 10 random characters (about 50 bits). It is
    the referral's sender_reference, so the same form posted twice is the same referral."""
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(10))
    return f"{REFERENCE_PREFIX}{code[:5]}-{code[5:]}"


def e_referral_submit(*, submission: ReferralSubmission) -> Referral:
    """Receive the referral as a trusted channel (actor None) and keep REFERRER_NOT_VERIFIED open
    whatever the NPI matched: a public form proves nothing about who filled it. Staff confirm
    the referrer by resolving that blocker (referrals.services.blocker_resolve)."""
    if submission.channel != Channel.PORTAL or submission.sender_system != SENDER_SYSTEM:
        raise ValueError("an e-referral comes by the portal channel")
    with files_removed_on_failure(), transaction.atomic():
        result = referral_receive(submission=submission, actor=None)
        if result.created:
            blocker_open(
                referral_id=result.referral.pk,
                kind=BlockerKind.REFERRER_NOT_VERIFIED,
                actor=None,
                note=NOT_VERIFIED_NOTE,
            )
    return result.referral
