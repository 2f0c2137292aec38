"""The demo program's directory: service lines with their targets, plans, practices, clinicians,
closures. Small tables, written with plain bulk inserts before the referrals."""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field

from django.utils import timezone

from refloop.core.calendar import BusinessCalendar, calendar_memoized
from refloop.core.models import Closure
from refloop.demo import catalogue as cat
from refloop.directory.enums import OrganizationKind, TargetKind, TargetUnit
from refloop.directory.models import (
    ChecklistTemplateItem,
    Clinician,
    ClinicianRole,
    InsurancePlan,
    Organization,
    ResponseTarget,
    ServiceLine,
)
from refloop.directory.validators import npi_check_digit
from refloop.referrals.clocks import Target

# Synthetic NPI ranges: clinicians 1999xxxxx?, organizations 1998xxxxx? (check digit last).
CLINICIAN_NPI_PREFIX = "1999"
ORGANIZATION_NPI_PREFIX = "1998"

TRAJECTORIES = (
    ("steady", 0.45),
    ("growing", 0.15),
    ("declining", 0.15),
    ("dormant", 0.08),  # stops referring after a date
    ("new", 0.10),  # starts referring from a date
    ("occasional", 0.07),
)


@dataclass
class Line:
    spec: cat.LineSpec
    row: ServiceLine
    targets: dict[str, dict[str, Target]]  # priority -> kind -> target
    checklist: list[tuple[str, str]]
    plans_accepted: set[str]  # plan names
    specialists: list[Clinician]
    location: str


@dataclass
class Referrer:
    clinician: Clinician
    organization: Organization
    weight: float
    trajectory: str
    pivot: float  # where in the 24 months a dormant referrer stops or a new one starts (0..1)
    line_weights: dict[str, float]
    channels: tuple[tuple[str, float], ...]

    def volume(self, when: float) -> float:
        """Relative volume at `when` (0 = two years ago, 1 = today)."""
        shape = {
            "steady": 1.0,
            "growing": 0.3 + 1.4 * when,
            "declining": 1.7 - 1.4 * when,
            "dormant": 1.0 if when < self.pivot else 0.0,
            "new": 0.0 if when < self.pivot else 1.2,
            "occasional": 0.15,
        }[self.trajectory]
        return self.weight * shape


@dataclass
class Program:
    lines: list[Line]
    referrers: list[Referrer]
    plans: list[tuple[str, str, float, bool]]
    calendar: BusinessCalendar
    facilities: list[Organization] = field(default_factory=list)


def npi_make(prefix: str, n: int) -> str:
    first_nine = f"{prefix}{n:05d}"
    return first_nine + npi_check_digit(first_nine)


def phone_make(rng: random.Random) -> str:
    return f"({rng.choice(cat.AREA_CODES)}) 555-01{rng.randrange(100):02d}"


def weighted(rng: random.Random, pairs) -> str:
    names, weights = zip(*pairs, strict=True)
    return rng.choices(names, weights=weights)[0]


def program_create(*, rng: random.Random, scale: float, now: dt.datetime) -> Program:
    plans = plans_create()
    closures = closures_create(now)
    calendar = calendar_memoized(BusinessCalendar(closures=frozenset(closures)))
    facilities = facilities_create(rng)
    lines = [line_create(spec, plans, facilities, rng, n) for n, spec in enumerate(cat.LINES)]
    # Practices and clinicians grow with the square root of the referral volume: a program ten
    # times as busy has more referrers, but not ten times as many.
    growth = max(1.0, math.sqrt(scale))
    practices = practices_create(rng, round(120 * growth))
    referrers = referrers_create(rng, practices, round(400 * growth))
    return Program(
        lines=lines,
        referrers=referrers,
        plans=list(cat.PLANS),
        calendar=calendar,
        facilities=facilities,
    )


def plans_create() -> dict[str, InsurancePlan]:
    rows = InsurancePlan.objects.bulk_create(
        InsurancePlan(payer=payer, plan=plan) for payer, plan, _, _ in cat.PLANS
    )
    return {row.plan: row for row in rows}


def closures_create(now: dt.datetime) -> list[dt.date]:
    """Two past closures and one coming up, on weekdays, so the calendar visibly skips them.
    Days count from the practice's local date of `now` (a closure is a local day)."""
    today = timezone.localdate(now)
    wanted = [
        (400, "Snow day: practice closed"),
        (130, "All-staff training day"),
        (-24, "Building maintenance: clinics closed"),
    ]
    days = []
    for back, description in wanted:
        day = today - dt.timedelta(days=back)
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        Closure.objects.create(date=day, description=description)
        days.append(day)
    return days


def facilities_create(rng: random.Random) -> list[Organization]:
    return Organization.objects.bulk_create(
        Organization(
            name=name,
            kind=OrganizationKind.OWN_FACILITY,
            in_network=True,
            npi=npi_make(ORGANIZATION_NPI_PREFIX, 90000 + n),
            phone=phone_make(rng),
            fax=phone_make(rng),
            address=f"{100 + 10 * n} {cat.STREETS[n]}",
            city=cat.TOWNS[0][0],
            state=cat.STATE,
            postal_code=cat.TOWNS[0][1],
        )
        for n, name in enumerate(cat.OWN_FACILITIES)
    )


def line_create(spec, plans, facilities, rng, n) -> Line:
    row = ServiceLine.objects.create(
        code=spec.code,
        name=spec.name,
        description=spec.description,
        acceptance_criteria=spec.acceptance_criteria,
        exclusions=spec.exclusions,
        patient_instructions=spec.patient_instructions,
        phone=f"(216) 555-01{10 + n:02d}",
        fax=f"(216) 555-01{30 + n:02d}",
        secure_email=f"{spec.code}.referrals@direct.example.org",
    )
    accepted = [plan for name, plan in plans.items() if name not in spec.plans_not_accepted]
    row.plans_accepted.set(accepted)
    ChecklistTemplateItem.objects.bulk_create(
        ChecklistTemplateItem(service_line=row, name=name, document_kind=kind, position=position)
        for position, (name, kind) in enumerate(spec.checklist)
    )
    targets = targets_create(row, spec)
    facility = {"oncology": facilities[3], "imaging": facilities[2]}.get(spec.code, facilities[0])
    specialists = specialists_create(rng, spec, facility, n)
    return Line(
        spec=spec,
        row=row,
        targets=targets,
        checklist=list(spec.checklist),
        plans_accepted={plan.plan for plan in accepted},
        specialists=specialists,
        # Where patients go; it appears on their no-login pages and texts, so it names the
        # building and suite, never the clinical service.
        location=f"{facility.name}, suite {210 + 10 * n}",
    )


def targets_create(row: ServiceLine, spec: cat.LineSpec) -> dict[str, dict[str, Target]]:
    rows = []
    for index, priority in enumerate(cat.PRIORITIES):
        for kind in TargetKind.values:
            if kind == TargetKind.APPOINTMENT:
                amount, unit = spec.appointment_days[index], TargetUnit.CALENDAR_DAYS
            else:
                amount, unit = cat.HOUR_TARGETS[kind][index], TargetUnit.BUSINESS_HOURS
            rows.append(
                ResponseTarget(
                    service_line=row, priority=priority, kind=kind, amount=amount, unit=unit
                )
            )
    ResponseTarget.objects.bulk_create(rows)
    targets: dict[str, dict[str, Target]] = {}
    for target in rows:
        targets.setdefault(target.priority, {})[target.kind] = Target(
            target.kind, target.amount, target.unit
        )
    return targets


def specialists_create(rng, spec, facility, n) -> list[Clinician]:
    rows = Clinician.objects.bulk_create(
        Clinician(
            first_name=rng.choice(cat.FEMALE_NAMES + cat.MALE_NAMES),
            last_name=rng.choice(cat.LAST_NAMES),
            credentials="MD",
            npi=npi_make(CLINICIAN_NPI_PREFIX, 90000 + 10 * n + i),
            specialty=spec.name,
            email=f"{spec.code}{i}@example.org",
            direct_address=f"{spec.code}{i}@direct.example.org",
        )
        for i in range(5)
    )
    ClinicianRole.objects.bulk_create(
        ClinicianRole(clinician=c, organization=facility, title="Staff specialist") for c in rows
    )
    return rows


def practices_create(rng: random.Random, count: int) -> list[tuple[Organization, str]]:
    """Referring practices (about a third in network) and two referring hospitals."""
    names = [
        (f"{place} {label}", specialty)
        for label, specialty in cat.PRACTICE_KINDS
        for place in cat.PRACTICE_PLACES
    ]
    rng.shuffle(names)
    while len(names) < count:  # very large scales: number the extra practices
        names += [(f"{n} {s}", s) for n, s in names[: count - len(names)]]
        names = [(f"{n} {i // len(cat.PRACTICE_PLACES)}", s) for i, (n, s) in enumerate(names)]
    chosen = names[: count - len(cat.HOSPITALS)]
    chosen += [(name, "Emergency Medicine") for name in cat.HOSPITALS]
    rows = []
    for n, (name, _) in enumerate(chosen):
        town, postal = rng.choice(cat.TOWNS)
        rows.append(
            Organization(
                name=name,
                kind=(
                    OrganizationKind.HOSPITAL
                    if name in cat.HOSPITALS
                    else OrganizationKind.REFERRING_PRACTICE
                ),
                in_network=rng.random() < 0.35,
                npi=npi_make(ORGANIZATION_NPI_PREFIX, n),
                phone=phone_make(rng),
                fax=phone_make(rng),
                address=f"{rng.randrange(10, 9000)} {rng.choice(cat.STREETS)}",
                city=town,
                state=cat.STATE,
                postal_code=postal,
            )
        )
    rows = Organization.objects.bulk_create(rows)
    return [(row, specialty) for row, (_, specialty) in zip(rows, chosen, strict=True)]


def referrers_create(rng: random.Random, practices, count: int) -> list[Referrer]:
    clinicians, roles, referrers = [], [], []
    for n in range(count):
        organization, specialty = (
            practices[n % len(practices)] if n < len(practices) else (rng.choice(practices))
        )
        first = rng.choice(cat.FEMALE_NAMES + cat.MALE_NAMES)
        last = rng.choice(cat.LAST_NAMES)
        clinician = Clinician(
            first_name=first,
            last_name=last,
            credentials=weighted(rng, cat.CREDENTIALS),
            npi=npi_make(CLINICIAN_NPI_PREFIX, n),
            specialty=specialty,
            phone=organization.phone,
            fax=organization.fax,
            email=f"{first}.{last}{n}@example.com".lower(),
            direct_address=f"{first[0]}{last}{n}@direct.example.com".lower(),
            preferred_update_channel=weighted(rng, cat.UPDATE_CHANNELS),
        )
        clinicians.append(clinician)
        roles.append((clinician, organization))
        if rng.random() < 0.08:  # some work at a second practice too
            other, _ = rng.choice(practices)
            if other.pk != organization.pk:
                roles.append((clinician, other))
        referrers.append(
            Referrer(
                clinician=clinician,
                organization=organization,
                weight=min(25.0, rng.paretovariate(1.3)),
                trajectory=weighted(rng, TRAJECTORIES),
                pivot=rng.uniform(0.25, 0.85),
                line_weights=cat.SPECIALTY_LINES[specialty],
                channels=channel_mix(organization),
            )
        )
    Clinician.objects.bulk_create(clinicians)
    ClinicianRole.objects.bulk_create(
        ClinicianRole(clinician=c, organization=o, title="Referring clinician") for c, o in roles
    )
    return referrers


def channel_mix(organization: Organization) -> tuple[tuple[str, float], ...]:
    """Fax still carries most referrals; practices on the system's own EHR send electronically."""
    if organization.in_network:
        return (
            ("fhir", 0.45),
            ("fax", 0.25),
            ("portal", 0.12),
            ("hl7", 0.08),
            ("email", 0.04),
            ("phone", 0.05),
            ("file", 0.01),
        )
    if organization.kind == OrganizationKind.HOSPITAL:
        return (("hl7", 0.45), ("fax", 0.40), ("phone", 0.15))
    return (("fax", 0.72), ("portal", 0.10), ("email", 0.07), ("phone", 0.08), ("fhir", 0.03))
