"""ADT: A01/A04/A08/A31 update the patient's contact details (directory services); A40/A47
(merge, identifier change) wait in the merge review queue for a person; the rest are
acknowledged and ignored, with the reason."""

from __future__ import annotations

from refloop.directory.models import Patient
from refloop.directory.services import patient_update_from_sender
from refloop.interop.hl7v2.handlers.common import (
    Context,
    Outcome,
    ignored,
    mrn_of,
    patient_data,
    street_of,
)
from refloop.interop.hl7v2.models import MergeReview
from refloop.interop.hl7v2.parsing import NULL, Hl7Problem

IGNORED = {
    "A03": "a discharge does not change a referral (the visit outcome comes by SIU or staff)",
    "A60": "allergy and adverse-reaction updates are not kept by Refloop",
}


def update(context: Context) -> Outcome:
    """A01, A04, A08, A31: contact details for a patient we already have (by PID-3 MRN). Only
    when the name and date of birth agree too: an MRN is a sender's number, and another person's
    phone or address on our patient sends their letters and calls to a stranger."""
    reader = context.reader
    data = patient_data(reader)
    patient = Patient.objects.filter(mrn=data.mrn).first() if data.mrn else None
    if patient is None:
        return ignored(f"No patient with MRN '{data.mrn}' here; an ADT does not create one.")
    differs = [
        label
        for label, ours, theirs in (
            (
                "name",
                (patient.first_name.casefold(), patient.last_name.casefold()),
                (data.first_name.casefold(), data.last_name.casefold()),
            ),
            ("date of birth", patient.birth_date, data.birth_date),
        )
        if ours != theirs
    ]
    if differs:
        return ignored(
            f"MRN of patient {patient.pk}, another {' and '.join(differs)}: for a person to check."
        )
    changes = {}
    if reader.raw_value("PID", 13) == NULL:
        changes["phone"] = ""  # an explicit null clears it; an absent field keeps ours
    elif data.phone:
        changes["phone"] = data.phone
    if reader.raw_value("PID", 11) == NULL:
        changes.update(address="", city="", state="", postal_code="")
    elif street_of(reader):
        changes.update(
            address=data.address, city=data.city, state=data.state, postal_code=data.postal_code
        )
    if reader.get("PID", 15):
        changes["preferred_language"] = data.preferred_language
    changed = patient_update_from_sender(mrn=data.mrn, changes=changes) or []
    if not changed:
        return ignored(f"Patient {patient.pk}: nothing new.")
    return Outcome(True, f"Patient updated (id {patient.pk}): {', '.join(changed)}.")


def merge(context: Context) -> Outcome:
    """A40, A47: kept for a person to decide (merge review), never applied from the feed."""
    reader = context.reader
    if not reader.has("MRG"):
        raise Hl7Problem("A merge needs an MRG segment.", code="100", location="MRG")
    surviving = mrn_of(reader)
    prior = reader.get("MRG", 1, 1)[:30]
    if not (surviving and prior):
        raise Hl7Problem(
            "A merge needs PID-3 (the identifier kept) and MRG-1 (the one replaced).",
            code="101",
            location="MRG^1^1",
        )
    review = MergeReview.objects.create(
        message_id=context.message_id,
        kind=context.header.trigger,
        surviving_mrn=surviving,
        prior_mrn=prior,
        surviving_patient=Patient.objects.filter(mrn=surviving).first(),
        prior_patient=Patient.objects.filter(mrn=prior).first(),
    )
    return Outcome(True, f"Merge review {review.pk} queued (ADT^{context.header.trigger}).")


def ignore(context: Context) -> Outcome:
    trigger = context.header.trigger
    reason = IGNORED.get(trigger, "Refloop does not act on this ADT event")
    return ignored(f"ADT^{trigger} ignored: {reason}.")
