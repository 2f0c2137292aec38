"""The demo's relations (demo.marketing calls it once referrals and facts are in).

Territories by town: the demo liaison (Leon Fairbanks) looks after the first half of the towns in
two territories, a second, fictional liaison (who does not sign in) the rest, so "my territory"
means something. Practices get office staff, a few practices in Leon's patch get a clinician who
has not referred yet (the "not yet referring" list needs someone to find), the standings are
computed from the facts, and Leon has two shared lists to start from.
"""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth.models import Group, User

from refloop.core.roles import Role
from refloop.demo import catalogue as cat
from refloop.directory.enums import OrganizationKind
from refloop.directory.models import Clinician, ClinicianRole, Organization
from refloop.relations.enums import ContactRole
from refloop.relations.models import OfficeContact, PracticeAssignment, TargetList, Territory
from refloop.relations.queries import Criteria
from refloop.relations.services import standings_refresh

OTHER_LIAISON = ("liaison-east", "Noor", "Castellanos")
PROSPECTS = 8  # clinicians not yet referring, in the demo liaison's practices
REFERRING_KINDS = (OrganizationKind.REFERRING_PRACTICE, OrganizationKind.HOSPITAL)


def relations_demo_load(*, users: dict, now: dt.datetime, rng: random.Random) -> None:
    liaison = users[Role.LIAISON]
    other = _other_liaison()
    practices = list(
        Organization.objects.filter(kind__in=REFERRING_KINDS).order_by("pk").only("pk", "city")
    )
    if not practices:
        return
    towns = sorted({p.city for p in practices})
    # The first quarter of the towns West, the next quarter Central (Leon's), the rest East.
    cuts = (max(1, len(towns) // 4), max(1, len(towns) // 2))
    owners = {"West": liaison, "Central": liaison, "East": other}
    patch_of = {
        town: "West" if i < cuts[0] else "Central" if i < cuts[1] else "East"
        for i, town in enumerate(towns)
    }
    territories = {
        name: Territory.objects.create(
            name=name,
            liaison=owner,
            description=", ".join(t for t, patch in patch_of.items() if patch == name),
        )
        for name, owner in owners.items()
    }
    PracticeAssignment.objects.bulk_create(
        PracticeAssignment(organization=p, territory=territories[patch_of[p.city]])
        for p in practices
    )
    _office_staff(practices, rng)
    mine = [p for p in practices if patch_of[p.city] != "East"]
    _prospects(mine, rng)
    standings_refresh(now=now)
    for name, criteria in (
        ("Fading referrers", Criteria(segments=("declining", "dormant"), mine=True)),
        ("Drop-off alerts in my territory", Criteria(drop_off=True, mine=True)),
        ("Not yet referring in my territory", Criteria(not_yet_referring=True, mine=True)),
    ):
        TargetList.objects.create(
            owner=liaison, name=name, shared=True, criteria=criteria.to_json()
        )


def _other_liaison() -> User:
    username, first, last = OTHER_LIAISON
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"first_name": first, "last_name": last, "email": f"{username}@example.org"},
    )
    if created:
        user.set_unusable_password()  # fictional: owns a territory, never signs in
        user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=Role.LIAISON.label))
    return user


def _office_staff(practices: list[Organization], rng: random.Random) -> None:
    rows = []
    for practice in practices:
        slug = f"practice{practice.pk}"
        people = [(ContactRole.REFERRAL_COORDINATOR, "referrals")]
        if rng.random() < 0.6:
            people.append((ContactRole.OFFICE_MANAGER, "office"))
        if rng.random() < 0.3:
            people.append((ContactRole.PRACTICE_LEADER, "lead"))
        for role, mailbox in people:
            first = rng.choice(cat.FEMALE_NAMES + cat.MALE_NAMES)
            last = rng.choice(cat.LAST_NAMES)
            rows.append(
                OfficeContact(
                    organization=practice,
                    name=f"{first} {last}",
                    role=role,
                    email=f"{mailbox}@{slug}.example.com",
                    phone=f"555-01{rng.randrange(10, 99)}",
                )
            )
    OfficeContact.objects.bulk_create(rows)


def _prospects(practices: list[Organization], rng: random.Random) -> None:
    """A clinician new to each of a few practices, of the specialty most of its clinicians have."""
    chosen = rng.sample(practices, min(PROSPECTS, len(practices)))
    for practice in chosen:
        specialty = (
            Clinician.objects.filter(roles__organization=practice)
            .exclude(specialty="")
            .values_list("specialty", flat=True)
            .first()
        ) or "Family Medicine"
        first = rng.choice(cat.FEMALE_NAMES + cat.MALE_NAMES)
        last = rng.choice(cat.LAST_NAMES)
        clinician = Clinician.objects.create(
            first_name=first,
            last_name=last,
            credentials="MD",
            specialty=specialty,
            email=f"{first}.{last}.new{practice.pk}@example.com".lower(),
        )
        ClinicianRole.objects.create(
            clinician=clinician, organization=practice, title="Referring clinician"
        )
