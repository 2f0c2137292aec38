"""Every message of the conformance set (tests/data/hl7v2, Microsoft FHIR-Converter samples) is
handled, each with its expected outcome: a referral created, an appointment recorded, a patient
updated, a merge queued, or acknowledged and ignored for a stated reason.

Messages go through message_receive, the function the MLLP listener calls for each block
(test_listener.py covers the socket)."""

import datetime as dt

import pytest

from refloop.access.models import Appointment
from refloop.directory.models import Patient
from refloop.interop.hl7v2.models import Hl7Message, MergeReview
from refloop.interop.hl7v2.services import message_receive
from refloop.referrals.enums import CancelReason, Channel, State
from refloop.referrals.models import Referral
from tests import factories
from tests.hl7v2.conftest import DATA, accept, ack_of, data, err_of

pytestmark = pytest.mark.django_db

Status = Hl7Message.Status


def receive(name: str) -> tuple[str, str, str]:
    return ack_of(message_receive(raw=data(name)))


def referral_from_ref() -> Referral:
    code, _, _ = receive("REF-I12-02.hl7")
    assert code == "AA"
    return Referral.objects.get()


def booked_from(siu: str) -> Referral:
    referral = referral_from_ref()
    accept(referral)
    assert receive(siu)[0] == "AA"
    referral.refresh_from_db()
    assert referral.state == State.SCHEDULED
    return referral


# The person each ADT of the set names (PID-5, PID-7): the MRN and the person agree.
ADT_PEOPLE = {
    "PATID1234": ("Adam", "Everyman", dt.date(1988, 8, 18)),
    "10006579": ("Donald", "Duck", dt.date(1924, 10, 10)),
}


def known_patient(mrn: str) -> Patient:
    first, last, born = ADT_PEOPLE[mrn]
    patient = factories.patient(mrn=mrn)
    Patient.objects.filter(pk=patient.pk).update(first_name=first, last_name=last, birth_date=born)
    return patient


def only_referral() -> Referral:
    return Referral.objects.get()


def last_message() -> Hl7Message:
    return Hl7Message.objects.order_by("-id").first()


def booked_appointment(referral) -> Appointment:
    return referral.appointments.get(outcome=Appointment.Outcome.BOOKED)


# file -> (setup, expected status, check)
CASES = {
    "REF-I12-01.hl7": (None, Status.PROCESSED, "created"),
    "REF-I12-02.hl7": (None, Status.PROCESSED, "created"),
    "REF-I14-01.hl7": (referral_from_ref, Status.PROCESSED, "cancelled"),
    "REF-I14-02.hl7": (referral_from_ref, Status.PROCESSED, "cancelled"),
    "SIU-S12-01.hl7": ("accepted", Status.PROCESSED, "booked"),
    "SIU-S12-02.hl7": ("accepted", Status.PROCESSED, "booked"),
    "SIU-S12_1.hl7": ("accepted", Status.PROCESSED, "booked"),
    # Same time and place as the S12 it follows: nothing we keep changes.
    "SIU-S13-01.hl7": ("SIU-S12-01.hl7", Status.IGNORED, "unchanged"),
    "SIU-S13-02.hl7": ("SIU-S12-02.hl7", Status.PROCESSED, "rebooked"),
    "SIU-S14-01.hl7": ("SIU-S12-01.hl7", Status.PROCESSED, "rebooked"),
    "SIU-S14-02.hl7": ("SIU-S12-02.hl7", Status.PROCESSED, "rebooked"),
    "SIU-S15-01.hl7": ("SIU-S12-01.hl7", Status.PROCESSED, "appointment cancelled"),
    "SIU-S15-02.hl7": ("SIU-S12-02.hl7", Status.PROCESSED, "appointment cancelled"),
    "SIU-S26-01.hl7": ("SIU-S12-01.hl7", Status.PROCESSED, "no-show"),
    "SIU-S26-02.hl7": ("SIU-S12-02.hl7", Status.PROCESSED, "no-show"),
    "SIU_12.hl7": (None, Status.IGNORED, "ADT^A60 ignored"),
    "ADT-A01-01.hl7": ("PATID1234", Status.PROCESSED, "patient updated"),
    "ADT-A01-02.hl7": ("PATID1234", Status.PROCESSED, "patient updated"),
    "ADT-A03-01.hl7": (None, Status.IGNORED, "ADT^A03 ignored"),
    "ADT-A04-01.hl7": ("PATID1234", Status.PROCESSED, "patient updated"),
    "ADT-A04-02.hl7": ("PATID1234", Status.PROCESSED, "patient updated"),
    "ADT-A08-01.hl7": ("PATID1234", Status.PROCESSED, "patient updated"),
    "ADT-A08-02.hl7": ("PATID1234", Status.PROCESSED, "patient updated"),
    "ADT-A31-01.hl7": ("PATID1234", Status.PROCESSED, "patient updated"),
    "ADT01-23.hl7": ("10006579", Status.PROCESSED, "patient updated"),
    "ADT04-251.hl7": (None, Status.IGNORED, "No patient with MRN 'MRN12345'"),
    "ADT-A47-01.hl7": (None, Status.PROCESSED, "Merge review"),
}


def test_it_covers_every_file_of_the_set():
    assert sorted(CASES) == sorted(p.name for p in DATA.glob("*.hl7"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_it_handles_each_conformance_message(name, partner):
    setup, status, says = CASES[name]
    referral = None
    if callable(setup):
        referral = setup()
    elif setup == "accepted":
        referral = referral_from_ref()
        accept(referral)
    elif setup and setup.endswith(".hl7"):
        referral = booked_from(setup)
    elif setup:
        known_patient(setup)

    code, _, text = receive(name)

    assert code == "AA", text
    message = last_message()
    assert message.status == status, message.error
    assert says.lower() in message.outcome.lower()
    assert bytes(message.raw) == data(name)  # kept as received, BOM and LF included
    _check(name, says, referral)


def _check(name, says, referral):
    if says == "created":
        referral = only_referral()
        assert referral.channel == Channel.HL7
        assert referral.sender_system == "GHH^GHHSFacility"
        assert referral.sender_reference == "226839^EPIC"
        assert referral.service_line.code == "gastroenterology"  # the partner's default
        assert referral.diagnoses == ["K63.3"]
        assert "Provider Ordered" in referral.reason and "Lab test" in referral.reason
        assert referral.referrer_as_given.startswith("Dr Robert Powell")
        assert referral.patient.mrn == "PATID1234"
        assert referral.patient.birth_date == dt.date(1961, 6, 15)
        assert last_message().referral_id == referral.pk
    elif says == "cancelled":
        referral.refresh_from_db()
        assert referral.state == State.CANCELLED
        assert referral.outcome_reason == CancelReason.REFERRER_WITHDREW
    elif says in {"booked", "rebooked", "unchanged"}:
        referral.refresh_from_db()
        assert referral.state == State.SCHEDULED
        appointment = booked_appointment(referral)
        assert appointment.starts_at == referral.appointment_at
        rebooked = referral.appointments.filter(outcome=Appointment.Outcome.REBOOKED).count()
        assert rebooked == (1 if says == "rebooked" else 0)
        if name == "SIU-S13-02.hl7":
            expected = dt.datetime(
                2021, 8, 20, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=2, minutes=15))
            )
            assert appointment.starts_at == expected
        if name == "SIU-S14-01.hl7":
            assert "Room02" in appointment.location
    elif says == "appointment cancelled":
        referral.refresh_from_db()
        assert referral.state == State.ACCEPTED
        assert referral.appointments.get().outcome == Appointment.Outcome.CANCELLED
    elif says == "no-show":
        referral.refresh_from_db()
        assert referral.state == State.NO_SHOW
    elif says == "patient updated":
        patient = Patient.objects.get()
        assert patient.city and patient.address
    elif says == "Merge review":
        review = MergeReview.objects.get()
        assert (review.kind, review.surviving_mrn, review.prior_mrn) == ("A47", "MR101", "MR102")
        assert review.status == MergeReview.Status.PENDING


def test_it_rejects_a_different_message_that_reuses_a_control_id(partner):
    """REF-I12-01 and REF-I14-01 of the set share MSH-10 MSG00112 from the same sender: the
    second is not a resend; it is kept and refused with the reason, not silently answered."""
    assert receive("REF-I12-01.hl7")[0] == "AA"
    code, control_id, text = receive("REF-I14-01.hl7")
    assert (code, control_id) == ("AR", "MSG00112")
    assert "already used" in text
    assert err_of(message_receive(raw=data("REF-I14-02.hl7").replace(b"MSG00014", b"MSG00112")))
    kept = Hl7Message.objects.filter(trigger="I14").first()
    assert kept.status == Status.ERROR and not kept.answers_resend
    assert only_referral().state == State.RECEIVED  # the cancel was not applied


def test_it_keeps_a_non_icd10_diagnosis_in_the_reason(partner):
    raw = data("REF-I12-01.hl7").replace(b"K63.3^Ulcer of Intestine^I10", b"789.09^Abd pain^I9C")
    assert receive_raw(raw)[0] == "AA"
    referral = only_referral()
    assert referral.diagnoses == []
    assert "789.09 Abd pain (I9C, not ICD-10-CM)" in referral.reason


def receive_raw(raw: bytes):
    return ack_of(message_receive(raw=raw))


def test_it_refuses_an_unknown_priority_with_the_field_named(partner):
    raw = data("REF-I12-01.hl7").replace(b"R^Routine^HL70280", b"X^Whenever^HL70280")
    answer = message_receive(raw=raw)
    code, _, text = ack_of(answer)
    assert code == "AE" and "RF1-2" in text
    assert err_of(answer) == "103"
    assert last_message().status == Status.ERROR and not Referral.objects.exists()


def test_it_refuses_a_referral_without_a_service_line(gi_line):
    """No partner default, and RF1-3 'Med' names no line of ours."""
    code, _, text = receive("REF-I12-01.hl7")
    assert code == "AE" and "No service line" in text
