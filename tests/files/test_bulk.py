"""The bulk path gives exactly what referral_receive gives, row for row (DESIGN.md, One way in)."""

import dataclasses
import datetime as dt

import pytest
from django.db import transaction

from refloop.core.errors import DomainError
from refloop.directory.enums import Priority
from refloop.directory.models import Coverage, Patient
from refloop.referrals.enums import Channel
from refloop.referrals.models import (
    ChecklistItem,
    Referral,
    ReferralBlocker,
    ReferralClock,
    ReferralEvent,
)
from refloop.referrals.services import (
    PatientData,
    ReferrerData,
    referral_receive,
    referrals_receive_bulk,
)
from refloop.referrals.services.bulk import referrals_prepare_bulk, referrals_write_bulk
from tests import factories


class Rollback(Exception):
    pass


def _ids(values, order):
    # referral_receive lists the duplicates in no set order; the ids are compared as a set.
    return sorted(str(order.get(v, f"old:{v}")) for v in values)


def snapshot(before: int):
    """Everything written after referral id `before`, with ids replaced by their order."""
    referrals = list(Referral.objects.filter(pk__gt=before).order_by("pk"))
    order = {r.pk: i for i, r in enumerate(referrals)}
    patients = {}
    for r in referrals:
        p = r.patient
        patients.setdefault(p.pk, (p.first_name, p.last_name, p.birth_date, p.mrn, p.sex))
    skip = {"id", "created_at", "updated_at", "patient"}
    rows = []
    for r in referrals:
        fields = {f.attname: getattr(r, f.attname) for f in Referral._meta.concrete_fields
                  if f.attname not in skip and f.name not in skip}  # fmt: skip
        fields["patient"] = patients[r.patient_id]
        events = [
            (
                e.kind,
                e.from_state,
                e.to_state,
                e.code,
                e.note,
                e.actor_id,
                e.occurred_at,
                {
                    **e.details,
                    "possible_duplicates": _ids(e.details.get("possible_duplicates", []), order),
                },
            )  # fmt: skip
            for e in ReferralEvent.objects.filter(referral=r).order_by("pk")
        ]
        checklist = list(
            ChecklistItem.objects.filter(referral=r)
            .order_by("pk")
            .values_list("name", "document_kind", "status", "document_id", "updated_at")
        )
        blockers = list(
            ReferralBlocker.objects.filter(referral=r)
            .order_by("pk")
            .values_list("kind", "opened_at", "resolved_at", "note")
        )
        clocks = [
            {
                f.attname: getattr(c, f.attname)
                for f in ReferralClock._meta.concrete_fields
                if f.attname not in {"id", "referral_id"}
            }  # fmt: skip
            for c in ReferralClock.objects.filter(referral=r).order_by("kind")
        ]
        rows.append((fields, events, checklist, blockers, clocks))
    coverages = sorted(
        (patients[c.patient_id], c.payer, c.plan, c.member_id)
        for c in Coverage.objects.filter(patient_id__in=patients)
    )
    return rows, coverages, Patient.objects.count()


def received(receive):
    before = Referral.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    try:
        with transaction.atomic():
            answers = receive()
            result = (answers, snapshot(before))
            raise Rollback
    except Rollback:
        pass
    return result


def one_by_one(submissions, actor):
    answers = []
    for s in submissions:
        try:
            r = referral_receive(submission=s, actor=actor)
        except DomainError as error:
            answers.append((None, error.message))
        else:
            answers.append((r.created, [d.pk for d in r.possible_duplicates]))
    return answers


def all_at_once(submissions, actor):
    return [
        (None, a.problem) if a.problem else (a.created, a.possible_duplicate_ids)
        for a in referrals_receive_bulk(submissions=submissions, actor=actor)
    ]


@pytest.fixture
def mixed(line, clinician, intake):
    """A batch with every case referral_receive tells apart."""
    bare = factories.service_line(code="imaging", name="Imaging", checklist=())
    earlier = factories.referral(line=line, clinician=clinician, last_name="Known",
                                 sender_system="import:x", sender_reference="OLD-1")  # fmt: skip
    known = earlier.patient
    known.mrn = "MRN-77"
    known.save()
    Coverage.objects.create(patient=known, payer="Acme", plan="Gold", member_id="M-1")
    at = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    base = factories.submission(line=line, clinician=clinician, received_at=at,
                                sender_system="import:x")  # fmt: skip
    base = dataclasses.replace(base, channel=Channel.FILE)

    def sub(ref, **changes):
        patient = changes.pop("patient", None)
        s = dataclasses.replace(base, sender_reference=ref, **changes)
        return dataclasses.replace(s, patient=patient) if patient else s

    new_patient = PatientData(
        first_name="Rene",
        last_name="Newcomb",
        birth_date=dt.date(1988, 4, 1),
        payer="Acme",
        plan="Silver",
        member_id="M-9",
    )
    return [
        sub("A-1"),
        sub("A-2", patient=new_patient, priority=Priority.STAT),
        sub("A-3", patient=dataclasses.replace(new_patient, first_name=" rene ")),  # same person
        sub(
            "A-4",
            patient=PatientData(
                first_name="X",
                last_name="Known",
                birth_date=known.birth_date,
                mrn="MRN-77",
                member_id="M-1",
                payer="Acme",
            ),
        ),  # fmt: skip
        # The same MRN, another date of birth: another person (refused, never filed on theirs).
        sub(
            "A-10",
            patient=PatientData(
                first_name="Y", last_name="Other", birth_date=dt.date(1950, 1, 1), mrn="MRN-77"
            ),
        ),  # fmt: skip
        sub("A-5", referrer=ReferrerData(npi="1234567890", name="Dr Nobody")),  # bad check digit
        sub("A-6", referrer=ReferrerData(name="Dr Unknown", organization_name="Elm Clinic")),
        sub("A-7", service_line_id=bare.pk, priority=Priority.URGENT),
        sub("OLD-1"),  # a resend of a referral received before
        sub("A-1"),  # the same reference twice in one batch
        sub("A-8", diagnoses=("NOT-A-CODE",)),  # refused
        sub("A-9", reason="  "),  # refused
        sub("", received_at=at + dt.timedelta(hours=3)),  # no reference: always new
    ]


def test_it_gives_the_same_rows_as_referral_receive_one_by_one(mixed, intake):
    single = received(lambda: one_by_one(mixed, intake))
    bulk = received(lambda: all_at_once(mixed, intake))
    (single_answers, (single_rows, single_cov, single_pat)) = single
    (bulk_answers, (bulk_rows, bulk_cov, bulk_pat)) = bulk
    assert [a[0] for a in bulk_answers] == [a[0] for a in single_answers]
    assert [a[1] for a in bulk_answers if a[0] is None] == [
        a[1] for a in single_answers if a[0] is None
    ]
    assert len(bulk_rows) == len(single_rows) == 8
    for b, s in zip(bulk_rows, single_rows, strict=True):
        assert b == s
    assert bulk_cov == single_cov
    assert bulk_pat == single_pat


def test_it_answers_a_resend_with_the_same_referral_and_writes_nothing(line, clinician, intake):
    s = factories.submission(line=line, clinician=clinician, sender_system="import:x",
                             sender_reference="R-1")  # fmt: skip
    first = referrals_receive_bulk(submissions=[s], actor=intake)[0]
    events = ReferralEvent.objects.count()
    again = referrals_receive_bulk(submissions=[s], actor=intake)[0]
    assert first.created and not again.created
    assert again.referral_id == first.referral_id == first.referral.pk
    assert ReferralEvent.objects.count() == events


def test_it_refuses_a_person_without_the_permission(line, clinician, liaison):
    s = factories.submission(line=line, clinician=clinician)
    with pytest.raises(DomainError):
        referrals_receive_bulk(submissions=[s], actor=liaison)
    assert not Referral.objects.exists()


def test_it_hands_out_ids_that_new_referrals_continue_after(line, clinician, intake):
    subs = [factories.submission(line=line, clinician=clinician) for _ in range(3)]
    made = referrals_receive_bulk(submissions=subs, actor=intake)
    after = factories.referral(line=line, clinician=clinician)
    assert after.pk > max(m.referral_id for m in made)
    assert Referral.objects.get(pk=made[1].referral_id).events.count() == 2


def test_it_matches_names_and_references_whatever_characters_they_hold(line, clinician, intake):
    """The batch's keys go to PostgreSQL as one array: quotes, commas, braces and backslashes
    in a name or a reference must still match (and SQLite's IN likewise)."""
    odd = 'O\'Brien, "Jr" {x}\\ Ñ'
    first = factories.submission(line=line, clinician=clinician, last_name=odd,
                                 sender_system="import:x", sender_reference=odd)  # fmt: skip
    made = referrals_receive_bulk(submissions=[first], actor=intake)[0]
    again = dataclasses.replace(first, sender_reference=f"{odd} 2")
    second = referrals_receive_bulk(submissions=[first, again], actor=intake)
    assert (second[0].referral_id, second[0].created) == (made.referral_id, False)
    assert second[1].created and second[1].possible_duplicate_ids == [made.referral_id]
    assert Patient.objects.filter(last_name=odd).count() == 1


def test_it_notes_a_possible_duplicate_once_when_the_batch_before_is_already_committed(
    line, clinician, intake
):
    """The import's pipeline decides a batch while the one before is being written, and carries
    what that one made. When the writer is the quicker and commits before this batch looks
    anything up, the lookups find those rows too: each is still noted once, as row by row."""
    first = factories.submission(line=line, clinician=clinician, last_name="Carried",
                                 sender_system="import:x", sender_reference="C-1")  # fmt: skip
    again = dataclasses.replace(first, sender_reference="C-2")
    before = referrals_prepare_bulk(submissions=[first], actor=intake)
    referrals_write_bulk(prepared=before)  # committed (here: visible) before the next lookups
    [made] = before.results
    after = referrals_prepare_bulk(submissions=[again], actor=intake, carry=before.carry)
    [answer] = after.results
    assert answer.created
    assert answer.possible_duplicate_ids == [made.referral_id]
    referrals_write_bulk(prepared=after)
    noted = Referral.objects.get(pk=answer.referral_id).events.get(kind="received").details
    assert noted == {"possible_duplicates": [made.referral_id]}
