"""Appointment: a visit booked for the referral, basedOn its ServiceRequest."""

from __future__ import annotations

import datetime as dt

from refloop.access.models import Appointment
from refloop.interop.fhir.resources import Context, compact, instant, ref

APPOINTMENT_STATUS = {
    Appointment.Outcome.BOOKED: "booked",
    Appointment.Outcome.ATTENDED: "fulfilled",
    Appointment.Outcome.NO_SHOW: "noshow",
    Appointment.Outcome.CANCELLED: "cancelled",
    Appointment.Outcome.REBOOKED: "cancelled",  # replaced by a later appointment
}
# A visit recorded by hand has no slot: it is shown as this long (FHIR wants an end when booked).
DEFAULT_LENGTH = dt.timedelta(minutes=30)


def appointment(row: Appointment, ctx: Context) -> dict:
    ends_at = row.slot.ends_at if row.slot_id else row.starts_at + DEFAULT_LENGTH
    participants = [
        {"actor": ref("Patient", row.referral.patient_id), "status": "accepted"},
    ]
    if row.clinician_id:
        participants.append({"actor": ref("Practitioner", row.clinician_id), "status": "accepted"})
    return compact(
        {
            "resourceType": "Appointment",
            "id": str(row.pk),
            "status": APPOINTMENT_STATUS[row.outcome],
            "basedOn": [ref("ServiceRequest", row.referral_id)],
            "start": instant(row.starts_at),
            "end": instant(ends_at),
            "created": instant(row.booked_at),
            "comment": f"Location: {row.location}" if row.location else None,
            "participant": participants,
        }
    )
