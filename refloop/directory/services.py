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


# What an interface partner may change about a patient: how to reach them. Identity (name, date
# of birth, sex) is not changed from a feed: a difference is shown to a person instead.
SENDER_UPDATABLE = ("phone", "address", "city", "state", "postal_code", "preferred_language")


def patient_update_from_sender(*, mrn: str, changes: dict[str, str]) -> list[str] | None:
    """Apply a sender's demographics (an HL7 ADT) to the patient with this MRN: a value sets the
    field, "" clears it (HL7's explicit null). Returns the fields changed, or None when no patient
    has this MRN (a feed does not create patients)."""
    patient = Patient.objects.filter(mrn=mrn).first() if mrn else None
    if patient is None:
        return None
    changed = [
        name
        for name, value in changes.items()
        if name in SENDER_UPDATABLE and getattr(patient, name) != value
    ]
    for name in changed:
        setattr(patient, name, changes[name])
    if changed:
        patient.save(update_fields=changed)
        log.info("patient %s updated from sender: %s", patient.pk, ",".join(changed))
    return changed


def patient_identifier_change(*, patient_id: int, mrn: str) -> None:
    """The sender's record of this patient now has another MRN (HL7 A47, or an A40 whose other
    record we never had). Refused when another patient already has that MRN: that is a merge."""
    if Patient.objects.filter(mrn=mrn).exclude(pk=patient_id).exists():
        raise ValueError("another patient already has this MRN")
    Patient.objects.filter(pk=patient_id).update(mrn=mrn)
    log.info("patient %s MRN changed by a reviewed merge", patient_id)


def patient_merge(*, surviving_id: int, merged_id: int) -> dict[str, int]:
    """Two records are one person (a reviewed HL7 A40): everything that points at the merged
    record (referrals, coverages, messages...) is pointed at the surviving one, and the merged
    record keeps no MRN (it stays, empty, so nothing that names its id breaks). Returns how many
    rows were moved per table."""
    if surviving_id == merged_id:
        raise ValueError("a patient cannot be merged into itself")
    moved = {}
    for relation in Patient._meta.related_objects:
        if relation.many_to_many or relation.one_to_one:
            continue
        model, field = relation.related_model, relation.field.name
        count = model.objects.filter(**{field: merged_id}).update(**{field: surviving_id})
        if count:
            moved[model._meta.label] = count
    Patient.objects.filter(pk=merged_id).update(mrn=None)
    log.info("patient %s merged into %s: %s", merged_id, surviving_id, moved)
    return moved
