"""Handlers beyond the conformance set: a revision (REF^I13), a cancel for a referral we never
had, HL7's explicit null in an update, a booking for a referral not accepted yet."""

import datetime as dt

import pytest

from refloop.directory.models import Patient
from refloop.interop.hl7v2.models import Hl7Message
from refloop.interop.hl7v2.services import message_receive
from refloop.referrals.enums import Priority, State
from refloop.referrals.models import Referral
from tests import factories
from tests.hl7v2.conftest import ack_of, data, err_of

pytestmark = pytest.mark.django_db


def test_it_revises_a_referral_from_ref_i13(partner):
    message_receive(raw=data("REF-I12-02.hl7"))
    raw = (
        data("REF-I12-02.hl7")
        .replace(b"REF^I12^REF_I12|MSG00012", b"REF^I13^REF_I12|MSG00013")
        .replace(b"R^Routine^HL70280", b"S^STAT^HL70280")
        .replace(b"K63.3^Ulcer of Intestine^I10", b"K25.9^Gastric ulcer^I10")
    )
    code, _, text = ack_of(message_receive(raw=raw))
    referral = Referral.objects.get()
    assert code == "AA" and "revised" in text
    assert referral.priority == Priority.STAT and referral.diagnoses == ["K25.9"]
    assert referral.events.filter(kind="revised").exists()


def test_it_refuses_a_cancel_for_a_referral_it_never_had(partner):
    answer = message_receive(raw=data("REF-I14-02.hl7"))
    code, _, text = ack_of(answer)
    assert code == "AE" and "226839^EPIC" in text and "RF1-6" in text
    assert err_of(answer) == "204"


def test_it_answers_a_second_cancel_as_done_already(partner):
    message_receive(raw=data("REF-I12-02.hl7"))
    message_receive(raw=data("REF-I14-02.hl7"))
    raw = data("REF-I14-02.hl7").replace(b"MSG00014", b"MSG00015")
    code, _, text = ack_of(message_receive(raw=raw))
    assert code == "AA" and "already cancelled" in text
    assert Hl7Message.objects.order_by("-id").first().status == Hl7Message.Status.IGNORED


def test_it_clears_a_field_sent_as_an_explicit_null_and_keeps_an_absent_one(partner):
    patient = factories.patient(mrn="MRN12345", phone="(555) 010-9999", city="Old Town")
    Patient.objects.filter(pk=patient.pk).update(  # the person ADT04-251 names
        first_name="Jane", last_name="Doe", birth_date=dt.date(1978, 1, 1)
    )
    raw = data("ADT04-251.hl7").replace(b"||||||||123456789", b'|||""||||||123456789')
    assert ack_of(message_receive(raw=raw))[0] == "AA"
    patient.refresh_from_db()
    assert patient.phone == ""  # PID-13 "" : cleared
    assert patient.city == "Old Town"  # PID-11 absent: kept


def test_it_updates_no_one_when_the_mrn_names_another_person(partner):
    """Same MRN, another name and date of birth (a sender's numbering, or a typo): our patient's
    phone and address stay theirs, and the message says why nothing changed."""
    patient = factories.patient(mrn="MRN12345", phone="(555) 010-9999", city="Old Town")
    raw = data("ADT04-251.hl7").replace(b"||||||||123456789", b"|||(555) 010-7777||||||123456789")
    code, _, text = ack_of(message_receive(raw=raw))
    assert code == "AA" and "for a person to check" in text
    patient.refresh_from_db()
    assert (patient.phone, patient.city, patient.address) == ("(555) 010-9999", "Old Town", "")
    assert Hl7Message.objects.order_by("-id").first().status == Hl7Message.Status.IGNORED


def test_it_refuses_a_booking_for_a_referral_not_yet_accepted(partner):
    message_receive(raw=data("REF-I12-02.hl7"))
    code, _, text = ack_of(message_receive(raw=data("SIU-S12-01.hl7")))
    assert code == "AE" and "must be accepted before" in text
    assert Referral.objects.get().state == State.RECEIVED


def test_it_refuses_a_booking_it_cannot_place(partner):
    answer = message_receive(raw=data("SIU-S12-01.hl7"))
    code, _, text = ack_of(answer)
    assert code == "AE" and "No referral for this appointment" in text
    # The message list shows the error and writes no access log: no patient identifier in it.
    assert "PATID1234" not in Hl7Message.objects.get().error


def test_it_files_the_referral_on_the_line_rf1_3_names(partner):
    medicine = factories.service_line(code="med", name="Internal medicine")
    message_receive(raw=data("REF-I12-01.hl7"))
    assert Referral.objects.get().service_line == medicine  # RF1-3 "Med", not the default


def test_it_answers_a_row_processed_meanwhile_with_its_ack_and_does_not_run_it_again(partner):
    """A resend on a second connection finds the row still unanswered while the first is being
    processed (check, then act): once it gets the row it answers with the ACK already given,
    and the booking is neither redone nor its outcome overwritten."""
    from refloop.interop.hl7v2.services import message_process
    from tests.hl7v2.conftest import accept

    message_receive(raw=data("REF-I12-02.hl7"))
    accept(Referral.objects.get())
    first = message_receive(raw=data("SIU-S12-01.hl7"))
    row = Hl7Message.objects.get(trigger="S12")
    assert message_process(message_id=row.pk) == first
    row.refresh_from_db()
    assert (row.status, bytes(row.ack)) == (Hl7Message.Status.PROCESSED, first)
    assert Referral.objects.get().appointments.count() == 1


def test_it_touches_the_message_row_three_times_for_a_new_referral(partner):
    """The raw row is inserted straight away (no look-up first: a new message is the usual
    case), locked once before the handler runs, and its ACK written: never read back between."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        code, _, _ = ack_of(message_receive(raw=data("REF-I12-01.hl7")))
    on_row = [
        q["sql"].split()[0] for q in queries.captured_queries if "hl7v2_hl7message" in q["sql"]
    ]
    assert code == "AA"
    assert on_row == ["INSERT", "SELECT", "UPDATE"]  # the SELECT is the row's lock


def test_it_refuses_a_nul_character_by_its_place_and_keeps_the_message(partner):
    """PostgreSQL stores no NUL: a NUL in the control id once failed the very write that keeps
    the message, and one in a name answered 'internal error'."""
    raw = data("REF-I12-02.hl7")
    in_name = raw.replace(b"EVERYMAN", b"EVERY\x00MAN")
    code, control_id, text = ack_of(message_receive(raw=in_name))
    assert (code, control_id) == ("AR", "MSG00012")
    assert text.startswith("PID-5 holds a NUL character (0x00)")
    in_header = raw.replace(b"|MSG00012|", b"|MSG\x00012|")
    answer = message_receive(raw=in_header)
    assert ack_of(answer)[0] == "AR" and err_of(answer) == "102"
    assert "MSH-10 holds a NUL" in ack_of(answer)[2]
    kept = Hl7Message.objects.order_by("pk")
    assert [bytes(m.raw) for m in kept] == [in_name, in_header]  # as sent, byte for byte
    assert [m.control_id for m in kept] == ["MSG00012", "MSG\u2400012"]
    assert not Referral.objects.exists()
    # A segment nobody reads is no matter.
    unread = raw.replace(b"|MSG00012|", b"|MSG00099|").replace(b"GT1|1", b"GT1|\x001")
    assert ack_of(message_receive(raw=unread))[0] == "AA"
