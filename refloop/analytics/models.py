"""The fact table kept in the database (one row per referral, FACT_SCHEMA's columns) and the
cursor with which the scheduler reads new events into it (analytics.jobs).

Rows are written only by analytics.sources (facts_refresh, facts_rebuild_all); pages read them
through analytics.queries.facts_frame. Columns follow FACT_SCHEMA one for one, in its order (a test
holds them together), plus two for bookkeeping: which events a row was built from, and when."""

from django.db import models

from refloop.core.models import EventCursorBase
from refloop.referrals.models import Referral


def _text(length: int):
    return models.CharField(max_length=length, blank=True, default="")


def _time():
    return models.DateTimeField(null=True, blank=True)


def _seconds():
    return models.BigIntegerField(null=True, blank=True)


def _met():
    return models.BooleanField(null=True, blank=True)


class ReferralFact(models.Model):
    referral = models.OneToOneField(
        Referral, primary_key=True, on_delete=models.CASCADE, related_name="fact"
    )
    patient_key = _text(40)
    service_line = _text(120)
    priority = _text(10)
    channel = _text(10)
    referrer_key = _text(40)
    referrer_name = _text(300)
    practice = _text(300)
    visit_type = _text(120)
    state = _text(12)
    decision = _text(12)
    outcome_reason = _text(30)
    received_at = models.DateTimeField()
    acknowledged_at = _time()
    accepted_at = _time()
    decided_at = _time()
    first_contact_at = _time()
    booked_at = _time()
    appointment_at = _time()
    seen_at = _time()
    report_sent_at = _time()
    report_delivered_at = _time()
    ended_at = _time()
    records_complete_at = _time()
    last_activity_at = _time()
    records_complete_on_arrival = models.BooleanField(null=True, blank=True)
    no_shows = models.IntegerField(default=0)
    acknowledged_gross = _seconds()
    acknowledged_net = _seconds()
    decided_gross = _seconds()
    decided_net = _seconds()
    first_contact_gross = _seconds()
    first_contact_net = _seconds()
    booked_gross = _seconds()
    booked_net = _seconds()
    visit_gross = _seconds()
    visit_net = _seconds()
    report_sent_gross = _seconds()
    report_sent_net = _seconds()
    report_delivered_gross = _seconds()
    report_delivered_net = _seconds()
    days_to_appointment = models.FloatField(null=True, blank=True)
    acknowledge_met = _met()
    triage_met = _met()
    first_contact_met = _met()
    appointment_met = _met()
    report_met = _met()
    seconds_in_received = _seconds()
    seconds_in_triage = _seconds()
    seconds_in_accepted = _seconds()
    seconds_in_scheduled = _seconds()
    seconds_in_no_show = _seconds()
    seconds_in_completed = _seconds()
    waiting_missing_records_seconds = _seconds()
    waiting_authorization_pending_seconds = _seconds()
    waiting_info_requested_seconds = _seconds()

    # Bookkeeping, not facts: the referral's highest event id the row was built from (a late
    # committed event shows up as higher), and when (time in state runs to this moment).
    events_through = models.BigIntegerField(default=0)
    built_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["received_at"]),
            # The daily refresh of open referrals (their time in state grows).
            models.Index(fields=["ended_at", "referral"], name="fact_open"),
        ]

    def __str__(self):
        return f"facts of referral {self.referral_id}"


class FactCursor(EventCursorBase):
    """How far the fact table has read the referral events (analytics.jobs)."""


class OutboundOrder(models.Model):
    """An order one of the health system's own clinicians placed for a specialist, imported from
    its EHR's export (analytics.services.outbound_import): leakage's "outside the network"."""

    order_id = models.CharField(max_length=80, unique=True)
    patient_key = models.CharField(max_length=40, blank=True, default="")
    ordered_at = models.DateTimeField()
    service_line = models.CharField(max_length=120)
    performed_in_network = models.BooleanField(null=True, blank=True)
    performer = models.CharField(max_length=200, blank=True, default="")
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["ordered_at"])]

    def __str__(self):
        return self.order_id
