"""How the demo practice runs access and the loop: visit types and clinicians' sessions, which
payers need prior authorization, visit instructions in English and Spanish, consult report
templates, follow-up checklists and what a decline letter suggests instead.

Imaging books in its own radiology system (uses_calendar off), so one line shows "not measured"
for third next available and keeps recording appointments by hand.
"""

from __future__ import annotations

import datetime as dt

from refloop.access.models import PayerRule, ServiceLineInstruction, SlotTemplate, VisitType
from refloop.access.services import slots_generate, tna_measure
from refloop.access.services.calendars import tna_measure_time
from refloop.demo import catalogue as cat
from refloop.loop.models import FollowUpTemplateItem, LoopSettings, ReportTemplate

OFF_CALENDAR = {"imaging"}
# Minutes of a new consult, per line (dermatology runs short visits).
CONSULT_MINUTES = {"dermatology": 20, "oncology": 60, "cardiology": 40}
PROCEDURES = {
    "orthopedics": ("injection", "Joint injection", 30),
    "cardiology": ("echo", "Echocardiogram", 45),
    "gastroenterology": ("endoscopy", "Endoscopy", 60),
    "dermatology": ("biopsy", "Skin biopsy", 30),
}
# (specialist index, weekdays, start, end, held for urgent): a week of clinics per line.
SESSIONS = (
    (0, (0, 2, 4), dt.time(8), dt.time(12), False),
    (1, (1, 3), dt.time(13), dt.time(17), False),
    (2, (0, 3), dt.time(13), dt.time(16), False),
    (3, (1,), dt.time(8), dt.time(10), True),
    (3, (4,), dt.time(13), dt.time(15), True),
)
SPANISH = (
    "Traiga una lista de sus medicamentos, su tarjeta de seguro y una identificación con foto. "
    "Llegue 15 minutos antes de su cita. Si necesita un intérprete, avísenos al llamar."
)
FOLLOW_UPS = (
    ("Orders from the visit placed (labs, imaging, procedures)", 2),
    ("Patient told the results and the plan", 5),
    ("Return visit booked if the plan needs one", 10),
)


def operations_create(lines) -> None:
    """Set up every demo line (demo.program.Line): calendars, rules, texts."""
    for line in lines:
        row, spec = line.row, line.spec
        if spec.code in OFF_CALENDAR:
            row.uses_calendar = False
            row.save(update_fields=["uses_calendar"])
        else:
            _calendar_create(line)
        _payer_rules_create(row, spec)
        ServiceLineInstruction.objects.bulk_create(
            [
                ServiceLineInstruction(
                    service_line=row, language="English", text=spec.patient_instructions
                ),
                ServiceLineInstruction(service_line=row, language="Spanish", text=SPANISH),
            ]
        )
        ReportTemplate.objects.create(
            service_line=row,
            findings=f"History, examination and results relevant to the {spec.name} referral.",
            recommendations="Diagnosis or working diagnosis; treatment started or proposed.",
            next_steps="What we will do, what we ask of you, and when we see the patient again.",
            whom_to_call=f"{spec.name} referral line {row.phone}; urgent questions: on-call "
            "specialist through the hospital switchboard.",
        )
        FollowUpTemplateItem.objects.bulk_create(
            FollowUpTemplateItem(service_line=row, name=name, due_after_days=days, position=n)
            for n, (name, days) in enumerate(FOLLOW_UPS)
        )
        LoopSettings.objects.create(
            service_line=row,
            decline_alternatives=(
                f"Call our {spec.name} referral line at {row.phone} to discuss the patient; "
                "we can suggest community services or another clinic that fits."
            ),
        )


def _calendar_create(line) -> None:
    row, code = line.row, line.spec.code
    consult = VisitType.objects.create(
        service_line=row,
        code="new",
        name="New consult",
        minutes=CONSULT_MINUTES.get(code, 30),
        for_new_referrals=True,
    )
    VisitType.objects.create(service_line=row, code="follow-up", name="Follow-up visit", minutes=20)
    if code in PROCEDURES:
        procedure_code, name, minutes = PROCEDURES[code]
        VisitType.objects.create(service_line=row, code=procedure_code, name=name, minutes=minutes)
    SlotTemplate.objects.bulk_create(
        SlotTemplate(
            clinician=line.specialists[index],
            visit_type=consult,
            weekday=weekday,
            start_time=start,
            end_time=end,
            location=line.location,
            held_for_urgent=held,
        )
        for index, weekdays, start, end, held in SESSIONS
        for weekday in weekdays
    )


def _payer_rules_create(row, spec) -> None:
    if not spec.authorization_share:
        return
    payers = sorted({payer for payer, _, _, needs in cat.PLANS if needs})
    PayerRule.objects.bulk_create(
        PayerRule(service_line=row, payer=payer, requires_authorization=True) for payer in payers
    )


def calendars_fill(lines, *, today: dt.date, back_days: int = 28, ahead_days: int = 42) -> int:
    """Slots from four weeks ago (the showcase's visits happened on them) to six weeks ahead,
    and today's third next available."""
    made = sum(
        slots_generate(
            service_line_id=line.row.pk,
            start=today - dt.timedelta(days=back_days),
            end=today + dt.timedelta(days=ahead_days),
        )
        for line in lines
        if line.row.uses_calendar
    )
    tna_measure(day=today, at=tna_measure_time())
    return made
