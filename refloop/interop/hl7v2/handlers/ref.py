"""REF^I12 (new referral), REF^I13 (modify), REF^I14 (cancel): one way in, through referral_receive,
referral_revise and referral_cancel.

Mapping (REF_I12 structure, whatever MSH-9.3 says):
- sender_system = MSH-3^MSH-4; sender_reference = RF1-6 (originating referral id, "id^namespace"),
  else MSH-10. I13/I14 find the referral by the same pair.
- patient: PID; referrer: the PRD with role RP (PRD-2 name, PRD-7 identifier typed NPI, PRD-10
  organization); receiving service line: RF1-3 (code or text naming one of our lines by code or
  name), else PRD(RT)-4 facility naming one, else the partner's default line.
- priority: RF1-2 (table 0280: S stat, A urgent, R routine); anything else is refused.
- diagnoses: DG1-3 when it is an ICD-10-CM code (coding system I10/I10C/ICD10CM, or none given
  and the code has ICD-10-CM's form); another code (ICD-9, SNOMED, a malformed one) does not
  refuse the referral: its code and text go into the reason for a person to read.
- reason: RF1-10 text, then the diagnoses' texts, then NTE-3 notes.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db.models import Q

from refloop.access.services import referral_cancel
from refloop.directory.models import ServiceLine
from refloop.directory.validators import validate_icd10cm
from refloop.interop.hl7v2.handlers.common import Context, Outcome, patient_data
from refloop.interop.hl7v2.parsing import Hl7Problem, Reader
from refloop.referrals.enums import OPEN_STATES, CancelReason, Channel, Priority, State
from refloop.referrals.models import Referral
from refloop.referrals.services import (
    ReferralSubmission,
    ReferrerData,
    referral_receive,
    referral_revise,
)

PRIORITY = {"S": Priority.STAT, "A": Priority.URGENT, "R": Priority.ROUTINE}
ICD10CM_SYSTEMS = {"I10", "I10C", "ICD10CM", "ICD-10-CM", "2.16.840.1.113883.6.90"}


def receive(context: Context) -> Outcome:
    """REF^I12."""
    submission = submission_from(context)
    result = referral_receive(submission=submission, actor=None)
    referral = result.referral
    if not result.created:
        return Outcome(True, f"Resent: already received as {referral.number}.", referral.pk)
    return Outcome(True, f"Referral {referral.number} created.", referral.pk)


def revise(context: Context) -> Outcome:
    """REF^I13: the sender changed priority, reason or diagnoses."""
    referral = referral_of(context)
    reader = context.reader
    codes, others = diagnoses_of(reader)
    revised = referral_revise(
        referral_id=referral.pk,
        actor=None,
        priority=priority_of(reader),
        reason=reason_of(reader, others),
        diagnoses=codes,
        note=f"REF^I13 {context.header.control_id} from {context.header.sender}",
    )
    return Outcome(True, f"Referral {revised.number} revised by the sender.", revised.pk)


def cancel(context: Context) -> Outcome:
    """REF^I14: the sender withdrew the referral (RF1-1 may still say Pending: the trigger event
    carries the meaning)."""
    referral = referral_of(context)
    if referral.state == State.CANCELLED:
        return Outcome(False, f"{referral.number} was already cancelled.", referral.pk)
    if referral.state not in OPEN_STATES:
        raise Hl7Problem(
            f"{referral.number} is {referral.get_state_display().lower()}; it cannot be cancelled.",
            code="207",
        )
    referral_cancel(
        referral_id=referral.pk,
        reason=CancelReason.REFERRER_WITHDREW,
        actor=None,
        note=f"REF^I14 {context.header.control_id} from {context.header.sender}",
    )
    return Outcome(
        True, f"Referral {referral.number} cancelled: the referrer withdrew it.", referral.pk
    )


def referral_of(context: Context) -> Referral:
    reference = reference_of(context)
    referral = Referral.objects.filter(
        sender_system=context.header.sender, sender_reference=reference
    ).first()
    if referral is None:
        raise Hl7Problem(
            f"No referral from {context.header.sender} with id '{reference}' (RF1-6).",
            code="204",
            location="RF1^1^6",
        )
    return referral


def reference_of(context: Context) -> str:
    reader = context.reader
    entity, namespace = reader.get("RF1", 6, 1), reader.get("RF1", 6, 2)
    if entity:
        return f"{entity}^{namespace}"[:120] if namespace else entity[:120]
    return context.header.control_id


def submission_from(context: Context) -> ReferralSubmission:
    reader = context.reader
    if not reader.has("RF1"):
        raise Hl7Problem("A REF^I12 needs an RF1 segment.", code="100", location="RF1")
    codes, others = diagnoses_of(reader)
    reason = reason_of(reader, others)
    if not reason:
        raise Hl7Problem(
            "No reason for the referral: RF1-10, DG1 and NTE are all empty.",
            code="101",
            location="RF1^1^10",
        )
    return ReferralSubmission(
        patient=patient_data(reader),
        referrer=referrer_of(context),
        service_line_id=service_line_of(context),
        reason=reason,
        channel=Channel.HL7,
        priority=priority_of(reader) or Priority.ROUTINE,
        diagnoses=codes,
        sender_system=context.header.sender,
        sender_reference=reference_of(context),
    )


def priority_of(reader: Reader) -> str | None:
    code = reader.get("RF1", 2, 1).upper()
    if not code:
        return None
    if code not in PRIORITY:
        raise Hl7Problem(
            f"RF1-2 priority '{code}' is not one of S (stat), A (ASAP) or R (routine).",
            code="103",
            location="RF1^1^2",
        )
    return PRIORITY[code]


def diagnoses_of(reader: Reader) -> tuple[tuple[str, ...], list[str]]:
    """(ICD-10-CM codes, the other diagnoses as text)."""
    codes, others = [], []
    for segment in reader.segments("DG1"):
        code = reader.get(segment, 3, 1)
        text = reader.get(segment, 3, 2) or reader.get(segment, 4)
        system = reader.get(segment, 3, 3).upper()
        if not code:
            if text:
                others.append(text)
            continue
        if system in ICD10CM_SYSTEMS or not system:
            try:
                validate_icd10cm(code)
            except ValidationError:
                pass
            else:
                if code.upper() not in codes:
                    codes.append(code.upper())
                continue
        label = f"{code} {text}".strip()
        others.append(f"{label} ({system or 'no coding system'}, not ICD-10-CM)")
    return tuple(codes), others


def reason_of(reader: Reader, other_diagnoses: list[str]) -> str:
    parts = []
    stated = reader.get("RF1", 10, 2) or reader.get("RF1", 10, 1)
    if stated:
        parts.append(stated)
    for segment in reader.segments("DG1"):
        text = reader.get(segment, 4) or reader.get(segment, 3, 2)
        code = reader.get(segment, 3, 1)
        if text and code:
            parts.append(f"{code} {text}")
    if other_diagnoses:
        parts.append("Other codes given: " + "; ".join(other_diagnoses))
    notes = [reader.get(s, 3) for s in reader.segments("NTE")]
    if any(notes):
        parts.append("Notes: " + " / ".join(n for n in notes if n))
    return "\n".join(dict.fromkeys(parts))


def _prd(reader: Reader, role: str):
    for segment in reader.segments("PRD"):
        if reader.get(segment, 1, 1).upper() == role:
            return segment
    return None


def referrer_of(context: Context) -> ReferrerData:
    reader = context.reader
    partner = context.partner
    segment = _prd(reader, "RP")
    if segment is None:
        return ReferrerData(
            name="(no PRD with role RP)",
            organization_name=partner.name if partner else context.header.sender,
            organization_id=partner.organization_id if partner else None,
        )
    npi = ""
    for rep in range(1, reader.repetitions(segment, 7) + 1):
        if reader.get(segment, 7, 2, rep=rep).upper() == "NPI":
            npi = reader.get(segment, 7, 1, rep=rep)
    given, family = reader.get(segment, 2, 2), reader.get(segment, 2, 1)
    prefix = reader.get(segment, 2, 5)
    name = " ".join(p for p in (prefix.title(), given.title(), family.title()) if p)
    organization = reader.get(segment, 10, 1) or reader.get(segment, 4, 4)
    return ReferrerData(
        npi=npi,
        name=name,
        organization_name=organization.title(),
        organization_id=partner.organization_id if partner else None,
    )


def _any_of(names: list[str]) -> str:
    return "^(" + "|".join(re.escape(n) for n in names) + ")$"


def service_line_of(context: Context) -> int:
    reader = context.reader
    candidates = [reader.get("RF1", 3, 1), reader.get("RF1", 3, 2)]
    rt = _prd(reader, "RT")
    if rt is not None:
        candidates.append(reader.get(rt, 4, 4))
    candidates = [c.lower() for c in candidates if c]
    if candidates:
        # One query for all the names; the first candidate that names a line wins.
        lines = ServiceLine.objects.filter(active=True).filter(
            Q(code__iregex=_any_of(candidates)) | Q(name__iregex=_any_of(candidates))
        )
        found = {}
        for pk, code, name in lines.values_list("pk", "code", "name"):
            found.setdefault(code.lower(), pk)
            found.setdefault(name.lower(), pk)
        for candidate in candidates:
            if candidate in found:
                return found[candidate]
    partner = context.partner
    if partner and partner.default_service_line_id:
        return partner.default_service_line_id
    raise Hl7Problem(
        f"No service line: RF1-3 '{reader.get('RF1', 3, 1)}' names none of ours and "
        f"{context.header.sender} has no default service line.",
        code="103",
        location="RF1^1^3",
    )
