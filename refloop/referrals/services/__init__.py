"""Every write to referrals. Other apps change referrals only through these functions."""

from refloop.referrals.services.bulk import BulkReceived, referrals_receive_bulk
from refloop.referrals.services.documents import (
    IncomingDocument,
    checklist_item_set,
    document_add,
    files_removed_on_failure,
)
from refloop.referrals.services.intake import (
    PatientData,
    ReceiveResult,
    ReferralSubmission,
    ReferrerData,
    referral_receive,
    referral_redirect,
    referral_revise,
)
from refloop.referrals.services.lifecycle import (
    blocker_open,
    blocker_resolve,
    event_correct,
    milestone_record,
    note_add,
    referral_assign,
    referral_transition,
    require,
    transition_permissions,
)

__all__ = [
    "BulkReceived",
    "IncomingDocument",
    "PatientData",
    "ReceiveResult",
    "ReferralSubmission",
    "ReferrerData",
    "blocker_open",
    "blocker_resolve",
    "checklist_item_set",
    "document_add",
    "event_correct",
    "files_removed_on_failure",
    "milestone_record",
    "note_add",
    "referral_assign",
    "referral_receive",
    "referral_redirect",
    "referral_revise",
    "referral_transition",
    "referrals_receive_bulk",
    "require",
    "transition_permissions",
]
