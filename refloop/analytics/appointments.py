"""The access app's appointments and third-next-available history as analytics frames (Django side).

The access metrics (analytics.metrics.access) take plain Polars frames so `refloop audit` can run
them without a database; these two reads make those frames from the live tables, each in a
couple of queries whatever the number of rows. They read through the ORM only (no writes).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from django.db.models import Count

from refloop.access.models import Appointment, ThirdNextAvailable
from refloop.analytics.metrics.access import APPOINTMENT_SCHEMA, TNA_SCHEMA

NO_SHOW = Appointment.Outcome.NO_SHOW.value


def appointments_frame(*, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
    """One row per appointment starting in [start, end), in APPOINTMENT_SCHEMA.

    prior_no_shows counts the patient's missed visits (any referral) that started before this
    one: the ones before `start` come from one grouped query, the ones inside the range are
    counted here in time order. Two queries in all."""
    in_range = Appointment.objects.filter(starts_at__gte=start, starts_at__lt=end).order_by()
    rows = in_range.values_list(
        "id",
        "referral__patient_id",
        "referral_id",
        "referral__service_line__name",
        "slot__visit_type__name",
        "booked_at",
        "starts_at",
        "outcome",
    )
    earlier = dict(
        Appointment.objects.filter(
            outcome=NO_SHOW,
            starts_at__lt=start,
            referral__patient_id__in=in_range.values("referral__patient_id"),
        )
        .order_by()
        .values("referral__patient_id")
        .annotate(n=Count("id"))
        .values_list("referral__patient_id", "n")
    )
    schema = {
        "id": pl.Int64(),
        "patient_id": pl.Int64(),
        **{k: v for k, v in APPOINTMENT_SCHEMA.items() if k != "prior_no_shows"},
    }
    frame = pl.DataFrame(list(rows), schema=schema, orient="row")
    missed = (pl.col("outcome") == NO_SHOW).cast(pl.Int32)
    return (
        frame.sort("patient_id", "starts_at", "id")
        .with_columns(
            visit_type=pl.col("visit_type").fill_null(""),
            prior_no_shows=(
                pl.col("patient_id").replace_strict(earlier, default=0, return_dtype=pl.Int32)
                + missed.cum_sum().over("patient_id")
                - missed
            ),
        )
        .sort("starts_at", "id")
        .select(list(APPOINTMENT_SCHEMA))
        .cast(APPOINTMENT_SCHEMA)
    )


def tna_frame(*, start: dt.date, end: dt.date) -> pl.DataFrame:
    """The third-next-available measurements made on days in [start, end), in TNA_SCHEMA
    (the clinician as "Last, First"). One query."""
    rows = (
        ThirdNextAvailable.objects.filter(measured_on__gte=start, measured_on__lt=end)
        .order_by("measured_on", "service_line__name", "visit_type__name", "clinician_id")
        .values_list(
            "service_line__name",
            "visit_type__name",
            "clinician__last_name",
            "clinician__first_name",
            "measured_on",
            "days",
        )
    )
    return pl.DataFrame(
        [
            (line, kind, f"{last}, {first}", day, days)
            for line, kind, last, first, day, days in rows
        ],
        schema=TNA_SCHEMA,
        orient="row",
    )
