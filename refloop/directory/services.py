"""Writes to the directory that other apps ask for (they never write its tables themselves)."""

from __future__ import annotations

import datetime as dt
import logging

from refloop.directory.models import Patient

log = logging.getLogger(__name__)


def patient_sms_opt_out(*, patient_ids: list[int], at: dt.datetime) -> int:
    """STOP: no more texts to these patients from `at` until they opt in again. Returns how many
    were opted out now (one already out keeps the moment they first said it)."""
    changed = Patient.objects.filter(pk__in=patient_ids, sms_opted_out_at__isnull=True).update(
        sms_opted_out_at=at
    )
    log.info("sms opt-out recorded for %s patient(s)", changed)
    return changed


def patient_sms_opt_in(*, patient_ids: list[int]) -> int:
    """START: texts may go again (consent itself is unchanged: START does not give it)."""
    changed = Patient.objects.filter(pk__in=patient_ids, sms_opted_out_at__isnull=False).update(
        sms_opted_out_at=None
    )
    log.info("sms opt-in recorded for %s patient(s)", changed)
    return changed
