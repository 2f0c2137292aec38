"""Every write of the portal (referring offices)."""

from refloop.portal.services.accounts import (
    office_account_of,
    office_authenticate,
    office_invitation_find,
    office_invite,
    office_invite_accept,
    office_login_succeeded,
)
from refloop.portal.services.office import office_records_send, office_report_open
from refloop.portal.services.refer import e_referral_submit, reference_new

__all__ = [
    "e_referral_submit",
    "office_account_of",
    "office_authenticate",
    "office_invitation_find",
    "office_invite",
    "office_invite_accept",
    "office_login_succeeded",
    "office_records_send",
    "office_report_open",
    "reference_new",
]
