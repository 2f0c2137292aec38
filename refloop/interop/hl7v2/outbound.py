"""What Refloop sends a partner: RRI^I12 (status, records asked for, a decline) or the consult
report as MDM^T02 or ORU^R01 with the PDF embedded (OBX-5, ED, Base64), per the partner's choice.

MSH-10 is "RL-<message id>": a retry of the same message carries the same control id, so a partner
that got it before (and whose ACK was lost) recognises the resend.
"""

from __future__ import annotations

import base64
import datetime as dt

from refloop.interop.hl7v2.acks import APPLICATION, FACILITY, escape
from refloop.interop.hl7v2.models import Hl7Partner
from refloop.messaging.backends import document_pdf
from refloop.messaging.enums import Purpose
from refloop.referrals.enums import State

# RF1-1 referral status (table 0283: A accepted, P pending, R rejected, E expired); cancelled is
# local, as senders send it too.
REFERRAL_STATUS = {
    State.RECEIVED: "P^Pending^HL70283",
    State.TRIAGE: "P^Pending^HL70283",
    State.ACCEPTED: "A^Accepted^HL70283",
    State.SCHEDULED: "A^Accepted^HL70283",
    State.NO_SHOW: "A^Accepted^HL70283",
    State.COMPLETED: "A^Accepted^HL70283",
    State.CLOSED: "A^Accepted^HL70283",
    State.DECLINED: "R^Rejected^HL70283",
    State.REDIRECTED: "R^Rejected^HL70283",
    State.CANCELLED: "C^Cancelled^L",
}
CONSULT_NOTE = "11488-4^Consult note^LN"


def control_id(message) -> str:
    return f"RL-{message.pk}"


def message_build(*, message, partner: Hl7Partner, now: dt.datetime | None = None) -> bytes:
    """The HL7 message for one OutboundMessage to one partner."""
    now = now or dt.datetime.now(dt.UTC)
    if message.purpose == Purpose.REPORT and message.document_id:
        kind = partner.wants_report or Hl7Partner.Report.MDM_T02
        segments = _mdm(message, now) if kind == Hl7Partner.Report.MDM_T02 else _oru(message, now)
        message_type = kind
    else:
        segments = _rri(message, now)
        message_type = "RRI^I12"
    structure = {"RRI^I12": "RRI_I12", "MDM^T02": "MDM_T02", "ORU^R01": "ORU_R01"}[message_type]
    msh = "|".join(
        [
            "MSH",
            "^~\\&",
            APPLICATION,
            FACILITY,
            escape(partner.sending_application),
            escape(partner.sending_facility),
            _ts(now),
            "",
            f"{message_type}^{structure}",
            control_id(message),
            "P",
            "2.5.1",
        ]
    )
    body = [msh, *segments]
    return ("\r".join(body) + "\r").encode("utf-8")


def _ts(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S+0000")


def _pid(referral) -> str:
    patient = referral.patient
    return "|".join(
        [
            "PID",
            "1",
            "",
            f"{escape(patient.mrn or '')}^^^^MR" if patient.mrn else "",
            "",
            f"{escape(patient.last_name)}^{escape(patient.first_name)}",
            "",
            f"{patient.birth_date:%Y%m%d}",
            {"male": "M", "female": "F", "other": "O"}.get(patient.sex, "U"),
        ]
    )


def _rf1(referral) -> str:
    originating = (
        escape(referral.sender_reference.split("^")[0]) if referral.sender_reference else ""
    )
    return "|".join(
        [
            "RF1",
            REFERRAL_STATUS.get(referral.state, "P^Pending^HL70283"),
            {"stat": "S", "urgent": "A"}.get(referral.priority, "R"),
            escape(referral.service_line.code),
            "",
            "",
            originating,
            f"{referral.received_at:%Y%m%d}",
            "",
            "",
            "",
            f"{referral.number}^REFLOOP",
        ]
    )


def _notes(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if line.strip()]
    return [f"NTE|{n}||{escape(line)}" for n, line in enumerate(lines, start=1)]


def _ed(message) -> str:
    data = base64.b64encode(document_pdf(message)).decode("ascii")
    return f"OBX|1|ED|{CONSULT_NOTE}||^AP^PDF^Base64^{data}||||||F"


def _rri(message, now):
    referral = message.referral
    segments = [
        f"MSA|AA|{escape(referral.sender_reference.split('^')[0] or referral.number)}",
        _rf1(referral),
        "PRD|RT^Referred to Provider^HL70286|" + escape(referral.service_line.name),
        _pid(referral),
        *_notes(message.body),
    ]
    if message.document_id:
        segments += [f"OBR|1|||{CONSULT_NOTE}|||{_ts(now)}", _ed(message)]
    return segments


def _mdm(message, now):
    referral = message.referral
    document = message.document
    return [
        f"EVN|T02|{_ts(now)}",
        _pid(referral),
        "PV1|1|O",
        "|".join(
            [
                "TXA",
                "1",
                "CN^Consultation^HL70270",
                "AP",
                _ts(now),
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                f"{referral.number}-D{document.pk}^REFLOOP",
                "",
                "",
                "",
                "",
                "AU",
            ]
        ),
        _ed(message),
    ]


def _oru(message, now):
    referral = message.referral
    placer = escape(referral.sender_reference.split("^")[0]) if referral.sender_reference else ""
    return [
        _pid(referral),
        f"OBR|1|{placer}|{referral.number}^REFLOOP|{CONSULT_NOTE}|||{_ts(now)}|||||||||||||||"
        f"{_ts(now)}|||F",
        _ed(message),
    ]
