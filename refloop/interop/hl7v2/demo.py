"""The demo's HL7 feed: a partner EHR sends one new referral (REF^I12) and one booking it made
in its own scheduling system (SIU^S12) through the real listener, on a free port, over MLLP.

The demo partner wants status updates back (RRI^I12) at 127.0.0.1:REFLOOP_HL7_DEMO_PARTNER_PORT
(2576 by default). Nobody listens there in the demo: those messages stay queued, retried with the
back-off, with "did not answer: ConnectionRefusedError" as their reason, until a partner (or a
simulator) listens there.
"""

from __future__ import annotations

import datetime as dt
import os

from django.db import connection
from django.utils import timezone

from refloop.directory.models import Clinician, ServiceLine
from refloop.interop.hl7v2.mllp import ListenerThread, mllp_send
from refloop.interop.hl7v2.models import Hl7Partner
from refloop.interop.hl7v2.services import message_receive
from refloop.referrals.enums import State
from refloop.referrals.models import Referral

APPLICATION, FACILITY = "RIVEREHR", "NORTHSIDEFP"


def demo_partner() -> Hl7Partner:
    line = ServiceLine.objects.filter(active=True).order_by("pk").first()
    partner, _ = Hl7Partner.objects.update_or_create(
        sending_facility=FACILITY,
        sending_application="",
        defaults={
            "name": "Northside Family Practice EHR (demo)",
            "default_service_line": line,
            "outbound_host": "127.0.0.1",
            "outbound_port": int(os.environ.get("REFLOOP_HL7_DEMO_PARTNER_PORT", "2576")),
            "wants_status": True,
            "wants_report": Hl7Partner.Report.MDM_T02,
        },
    )
    return partner


def _msh(message_type: str, control_id: str, now: dt.datetime) -> str:
    return (
        f"MSH|^~\\&|{APPLICATION}|{FACILITY}|REFLOOP|REFLOOP|{now:%Y%m%d%H%M%S}||"
        f"{message_type}|{control_id}|P|2.5.1"
    )


def referral_message(*, stamp: str, now: dt.datetime, npi: str) -> bytes:
    segments = [
        _msh("REF^I12^REF_I12", f"DEMO-REF-{stamp}", now),
        f"RF1|P^Pending^HL70283|A^ASAP^HL70280|||O^Outpatient^HL70284|NFP-{stamp}^RIVEREHR"
        f"|{now:%Y%m%d}|||S^Second Opinion^HL70336",
        f"PRD|RP^Referring Provider^HL70286|Okafor^Grace^^^Dr|||||{npi}^NPI",
        f"PID|1||DEMO-{stamp}^^^NFP^MR||Lindqvist^Marta||19580412|F|||"
        "12 Birch Lane^^Springfield^ST^00010||^PRN^PH^^^555^0104477||EN^English^HL70296",
        "DG1|1||I48.91^Unspecified atrial fibrillation^I10C",
        "NTE|1||Palpitations for three weeks; Holter shows paroxysmal AF.",
    ]
    return ("\r".join(segments) + "\r").encode()


def booking_message(*, stamp: str, now: dt.datetime, referral: Referral) -> bytes:
    patient = referral.patient
    starts = timezone.localtime(now + dt.timedelta(days=9)).replace(
        hour=10, minute=30, second=0, microsecond=0
    )
    segments = [
        _msh("SIU^S12^SIU_S12", f"DEMO-SIU-{stamp}", now),
        _sch(stamp, referral),
        f"TQ1|||||||{starts:%Y%m%d%H%M%S%z}",
        f"PID|1||{patient.mrn or ''}^^^NFP^MR||{patient.last_name}^{patient.first_name}||"
        f"{patient.birth_date:%Y%m%d}",
        "RGS|1",
        "AIL|1||CLINIC^Room 4^^Riverside Specialty Care",
    ]
    return ("\r".join(segments) + "\r").encode()


def _sch(stamp: str, referral: Referral) -> str:
    """SCH-1/2 the partner's appointment ids, SCH-26 our referral number (which referral)."""
    fields = [""] * 27
    fields[1] = fields[2] = f"NFP-APPT-{stamp}"
    fields[6], fields[7], fields[26] = "Add", "NEW^New consult", referral.number
    return "SCH|" + "|".join(fields[1:])


def demo_receive() -> str:
    """One REF^I12 and one SIU^S12 through the real MLLP listener; a one-line summary."""
    partner = demo_partner()
    now = timezone.now()
    stamp = now.strftime("%Y%m%d%H%M%S")
    clinician = Clinician.objects.exclude(npi=None).order_by("pk").first()
    bookable = (
        Referral.objects.filter(state=State.ACCEPTED, open_blocker_count=0)
        .select_related("patient")
        .order_by("pk")
        .first()
    )
    messages = [referral_message(stamp=stamp, now=now, npi=clinician.npi if clinician else "")]
    if bookable is not None:
        messages.append(booking_message(stamp=stamp, now=now, referral=bookable))
    if connection.in_atomic_block:
        # Inside the caller's transaction a listener thread could not see (or wait for) its
        # rows: the function the listener calls for each block is called here instead.
        answers = [message_receive(raw=message) for message in messages]
        how = "the listener's own entry point (caller holds a transaction)"
    else:
        with ListenerThread(workers=1) as listener:
            answers = mllp_send("127.0.0.1", listener.port, messages)
        how = "MLLP"
    parts = []
    for answer in answers:
        msa = answer.decode("utf-8", "replace").split("\rMSA|", 1)[-1].split("\r")[0].split("|")
        parts.append(f"{msa[0]} ({msa[2] if len(msa) > 2 else ''})")
    if bookable is None:
        parts.append("no accepted referral to book")
    return f"HL7 v2 feed from {partner.name} over {how}: " + "; ".join(parts)
