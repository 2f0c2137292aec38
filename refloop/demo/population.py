"""Who is referred, by whom, and when: arrivals over 24 months, patients, the referral rows.

Arrivals are produced day by day in time order, so the loader can stream a million referrals
without holding them: each day's count follows the weekday, the season and the sum of the
referrers' trajectories; each arrival picks its referrer by that day's volumes.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import deque
from collections.abc import Iterator

from refloop.demo import catalogue as cat
from refloop.demo.generator import PatientInfo, Story, World
from refloop.demo.program import Program, Referrer, phone_make, weighted
from refloop.referrals.enums import State
from refloop.referrals.models import Referral

DAYS = 730
SEASON = {1: 1.05, 2: 1.02, 3: 1.05, 4: 1.0, 5: 1.0, 6: 0.96, 7: 0.9, 8: 0.93, 9: 1.02,
          10: 1.05, 11: 0.98, 12: 0.85}  # fmt: skip
RETURNING_PATIENT_SHARE = 0.12
UNKNOWN_REFERRER_SHARE = 0.02
UNKNOWN_REFERRER_LINES = cat.SPECIALTY_LINES["Family Medicine"]


def arrivals(
    program: Program, rng: random.Random, total: int, now: dt.datetime
) -> Iterator[tuple[dt.datetime, Referrer]]:
    """`total` arrival times over the 730 days ending now, in time order, with their referrer."""
    calendar = program.calendar
    today = now.astimezone(calendar.tz).date()
    days = [today - dt.timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    # Volumes change slowly: one set of referrer weights per week is plenty.
    weekly = [
        [r.volume(w * 7 / (DAYS - 1)) for r in program.referrers] for w in range(DAYS // 7 + 1)
    ]
    weights = [
        _day_weight(calendar, day) * SEASON[day.month] * sum(weekly[i // 7])
        for i, day in enumerate(days)
    ]
    for i, (day, count) in enumerate(zip(days, _apportion(weights, total), strict=True)):
        if not count:
            continue
        picks = rng.choices(program.referrers, weights=weekly[i // 7], k=count)
        business = calendar.is_business_day(day)
        times = sorted(_arrival_time(rng, calendar, day, business, now) for _ in range(count))
        yield from zip(times, picks, strict=True)


def _day_weight(calendar, day: dt.date) -> float:
    if calendar.is_business_day(day):
        return 1.0
    return {5: 0.06, 6: 0.04}.get(day.weekday(), 0.05)  # weekend, or a holiday or closure


def _apportion(weights: list[float], total: int) -> list[int]:
    """Whole counts proportional to the weights that add up to exactly `total`."""
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _arrival_time(rng, calendar, day: dt.date, business: bool, now: dt.datetime) -> dt.datetime:
    if business and rng.random() < 0.85:
        hour = rng.triangular(8.0, 17.0, 10.5)
    elif business:
        hour = rng.choice((rng.uniform(17.0, 23.0), rng.uniform(6.0, 8.0)))
    else:
        hour = rng.uniform(0.0, 24.0)
    midnight = dt.datetime.combine(day, dt.time(0), calendar.tz)
    at = midnight + dt.timedelta(seconds=int(hour * 3600))
    if at > now:  # today: only what has arrived so far
        at = midnight + (now - midnight) * rng.random()
    return at.astimezone(dt.UTC)


class Population:
    """Makes the patients and referrals; keeps recent patients so some come back."""

    def __init__(self, world: World, rng: random.Random):
        self.world, self.rng = world, rng
        self.recent: deque[PatientInfo] = deque(maxlen=4000)
        self.new_patients: list[PatientInfo] = []
        self.patients_made = 0
        self.referrals_made = 0
        self.lines = {line.spec.code: line for line in world.program.lines}

    def story(self, received_at: dt.datetime, referrer: Referrer) -> Story:
        rng = self.rng
        self.referrals_made += 1
        known = rng.random() >= UNKNOWN_REFERRER_SHARE
        codes = referrer.line_weights if known else UNKNOWN_REFERRER_LINES
        line = self.lines[weighted(rng, codes.items())]
        spec = line.spec
        priority = weighted(rng, zip(cat.PRIORITIES, spec.priority_mix, strict=True))
        pediatric = known and referrer.clinician.specialty == "Pediatrics"
        patient = self._patient(spec, pediatric, received_at)
        reason, code = rng.choice(spec.reasons)
        diagnoses = [code]
        if rng.random() < 0.2:
            other = rng.choice(spec.reasons)[1]
            if other != code:
                diagnoses.append(other)
        referral = Referral(
            pk=self.world.ids.take("referral"),
            patient_id=patient.row["id"],
            service_line=line.row,
            receiving_clinician=rng.choice(line.specialists) if rng.random() < 0.25 else None,
            priority=priority,
            reason=reason,
            diagnoses=diagnoses,
            state=State.RECEIVED,
            version=1,
            received_at=received_at,
            state_changed_at=received_at,
        )
        if known:
            self._from_directory(referral, referrer)
        else:  # not in the directory: kept as given, with the "referrer not verified" blocker
            first, last = rng.choice(cat.FEMALE_NAMES + cat.MALE_NAMES), rng.choice(cat.LAST_NAMES)
            place = rng.choice(cat.PRACTICE_PLACES)
            referral.referrer_as_given = f"Dr {first} {last} · {place} Walk-in Clinic"
            referral.channel = rng.choice(("fax", "fax", "phone"))
        return Story(
            world=self.world,
            rng=rng,
            referral=referral,
            line=line,
            patient=patient,
            referrer=referrer if known else None,
        )

    def _from_directory(self, referral: Referral, referrer: Referrer) -> None:
        clinician, organization = referrer.clinician, referrer.organization
        referral.referring_clinician = clinician
        referral.referring_organization = organization
        referral.channel = weighted(self.rng, referrer.channels)
        referral.referrer_as_given = (
            f"{clinician.first_name} {clinician.last_name}, {clinician.credentials} · "
            f"NPI {clinician.npi} · {organization.name}"
        )[:300]
        if referral.channel in {"fhir", "hl7", "portal"}:
            referral.sender_system = f"{referral.channel}:org-{organization.pk}"
            referral.sender_reference = f"DEMO-{self.referrals_made:08d}"

    def _patient(self, spec: cat.LineSpec, pediatric: bool, received_at) -> PatientInfo:
        if self.recent and not pediatric and self.rng.random() < RETURNING_PATIENT_SHARE:
            return self.rng.choice(self.recent)
        info = self._patient_new(spec, pediatric, received_at)
        self.recent.append(info)
        self.new_patients.append(info)
        return info

    def _patient_new(self, spec: cat.LineSpec, pediatric: bool, received_at) -> PatientInfo:
        rng = self.rng
        self.patients_made += 1
        n = self.patients_made
        roll = rng.random()
        sex = "female" if roll < 0.52 else "male" if roll < 0.99 else "unknown"
        first = rng.choice(cat.MALE_NAMES if sex == "male" else cat.FEMALE_NAMES)
        last = rng.choice(cat.LAST_NAMES)
        mean, spread = spec.age
        age = rng.uniform(1, 17) if pediatric else min(95.0, max(18.0, rng.gauss(mean, spread)))
        birth_date = received_at.date() - dt.timedelta(days=int(age * 365.25))
        language, interpreter = self._language()
        town, postal = rng.choice(cat.TOWNS)
        has_email = rng.random() < 0.7
        row = {
            "id": self.world.ids.take("patient"),
            "mrn": f"LH{n:08d}",
            "first_name": first,
            "last_name": last,
            "birth_date": birth_date,
            "sex": sex,
            "phone": phone_make(rng),
            "email": f"{first}.{last}.{n}@example.net".lower() if has_email else "",
            "address": f"{rng.randrange(1, 9999)} {rng.choice(cat.STREETS)}",
            "city": town,
            "state": cat.STATE,
            "postal_code": postal,
            "preferred_language": language,
            "interpreter_needed": interpreter,
            "sms_consent": rng.random() < 0.65,
            "email_consent": has_email and rng.random() < 0.6,
            "sms_opted_out_at": None,
            "time_zone": "",
        }
        payer, plan, needs_authorization = self._plan(age)
        coverage = None
        if plan:
            coverage = {
                "patient_id": row["id"],
                "payer": payer,
                "plan": plan,
                "member_id": f"{payer[:3].upper()}{rng.randrange(10**8, 10**9)}",
                "primary": True,
            }
        return PatientInfo(
            row=row,
            coverage=coverage,
            plan=plan,
            needs_authorization=needs_authorization,
            interpreter=interpreter,
            prone_to_miss=rng.random() < 0.15,
        )

    def _language(self) -> tuple[str, bool]:
        rng = self.rng
        language = weighted(rng, ((name, share) for name, share, _ in cat.LANGUAGES))
        needs = dict((name, need) for name, _, need in cat.LANGUAGES)[language]
        return language, rng.random() < needs

    def _plan(self, age: float) -> tuple[str, str | None, bool]:
        rng = self.rng
        if rng.random() < cat.SELF_PAY_SHARE:
            return "", None, False
        if age >= 65 and rng.random() < 0.9:
            plans = [p for p in cat.PLANS if "Medicare" in p[1]]
        else:
            plans = [p for p in cat.PLANS if "Medicare" not in p[1]]
        payer, plan, _, needs = rng.choices(plans, weights=[p[2] for p in plans])[0]
        return payer, plan, needs

    def take_new_patients(self) -> list[PatientInfo]:
        taken, self.new_patients = self.new_patients, []
        return taken
