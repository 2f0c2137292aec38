"""Every write of the loop with the referrer. Other apps change loop rows only through these."""

from refloop.loop.services.followups import followup_alert, followup_set, followups_create
from refloop.loop.services.records import records_follow_up, records_request, records_resolve
from refloop.loop.services.reports import (
    consult_report_save,
    consult_report_send,
    consult_report_start,
    report_acknowledge_by_link,
    report_acknowledged_record,
    report_delivered,
    report_send,
)
from refloop.loop.services.updates import digest_send, status_update_send

__all__ = [
    "consult_report_save",
    "consult_report_send",
    "consult_report_start",
    "digest_send",
    "followup_alert",
    "followup_set",
    "followups_create",
    "records_follow_up",
    "records_request",
    "records_resolve",
    "report_acknowledge_by_link",
    "report_acknowledged_record",
    "report_delivered",
    "report_send",
    "status_update_send",
]
