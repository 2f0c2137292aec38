"""An export's rows as the fact builder's milestone frame (analytics.facts.MILESTONE_COLUMNS), in
column operations over the whole file (a million rows in seconds, no Python per row).

A row that cannot be read (no received date, a date in no known format, a value that is not one of
ours, a time before the referral arrived, a referral id already in an earlier row) is never
dropped in silence: it goes to `quarantine` with its row number and every reason, and stays out
of the metrics.

What the file does not say is worked out the way the app works it out, and only then:
- decision: from declined_at / redirected_at, else the state, else accepted when decided_at is
  given; decided_at: the decision's own time; accepted_at: decided_at of an accepted referral;
- state (when not given or blank): from the latest milestone the row reaches;
- ended_at: report sent (closed), the decision (declined, redirected), cancelled_at (cancelled);
- last_activity_at: the latest time in the row;
- patient_key: the row itself (each referral its own patient) when no patient column is mapped;
- referral_id: the row number, so every number points back to the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl

from refloop.analytics.audit import AuditError
from refloop.analytics.audit.mapping import CHOICES, FIRST_APPOINTMENT, TIME_FIELDS, Mapping
from refloop.analytics.facts import FACT_SCHEMA, MILESTONE_COLUMNS, UTC_TIME

TEXT_DEFAULTS = {"service_line": "Unspecified", "priority": "routine", "channel": ""}
TRUE = ("true", "yes", "y", "1", "t")
FALSE = ("false", "no", "n", "0", "f")
ENDED = ("declined", "redirected", "closed", "cancelled")


@dataclass(frozen=True)
class Parsed:
    milestones: pl.DataFrame  # MILESTONE_COLUMNS of the rows that could be read
    quarantine: pl.DataFrame  # row, reasons, then the row as given
    rows: int  # rows read from the file (blank lines not counted)
    references: pl.DataFrame  # referral_id, reference (their id), received_at of the rows read


def milestones_parse(frame: pl.DataFrame, *, mapping: Mapping, tz: ZoneInfo) -> Parsed:
    _check(frame, mapping)
    given = {name: _value(frame, mapping, name, tz) for name in mapping.columns}
    # First every value and whether it is bad (cheap); then the words, for the bad rows only.
    # Lazy, so each column is parsed once for its value and its flag (common subexpressions).
    values = (
        frame.lazy()
        .select(
            pl.col("row"),
            *(parsed.alias(name) for name, (parsed, _, _) in given.items()),
            *(bad.fill_null(False).alias(f"_bad:{name}") for name, (_, bad, _) in given.items()),
        )
        .collect()
    )
    values = _ambiguous_later(frame, values, mapping, tz)
    late = [name for name in given if name in TIME_FIELDS and name != "received_at"]
    values = values.with_columns(
        (pl.col(name) < pl.col("received_at")).fill_null(False).alias(f"_late:{name}")
        for name in late
    )
    if "reference" in given:  # the same referral twice would be counted twice: the first stays
        reference = pl.col("reference")
        values = values.with_columns(
            (reference.is_not_null() & ~reference.is_first_distinct()).alias("_again:reference")
        )
    flags = [c for c in values.columns if c.startswith(("_bad:", "_late:", "_again:"))]
    bad = values.select(pl.any_horizontal(flags) if flags else pl.lit(False)).to_series()
    quarantine = _quarantine(frame.filter(bad), values.filter(bad), given, late, mapping)
    values = values.drop(flags)
    good = values.filter(~bad)
    references = good.select(
        pl.col("row").cast(pl.Int64).alias("referral_id"),
        (pl.col("reference") if "reference" in given else pl.lit(None, pl.String)).alias(
            "reference"
        ),
        pl.col("received_at"),
    )
    milestones = _derive(good, given)
    return Parsed(
        milestones=milestones, quarantine=quarantine, rows=frame.height, references=references
    )


def _check(frame: pl.DataFrame, mapping: Mapping) -> None:
    if "received_at" not in mapping.columns:
        raise AuditError(
            "The mapping has no column for received_at (when each referral arrived): "
            'add --column received_at="Their column".'
        )
    missing = sorted({c for c in mapping.columns.values() if c not in frame.columns})
    if missing:
        have = ", ".join(c for c in frame.columns if c != "row")
        raise AuditError(f"Columns not in the file: {', '.join(missing)}. The file has: {have}.")


def _quarantine(
    raw: pl.DataFrame, values: pl.DataFrame, given: dict, late: list[str], mapping: Mapping
):
    """row, reasons (every one, in the mapping's order), then the row as given."""
    flags = values.select(pl.all().name.prefix("_flag"))
    both = pl.concat([raw, flags], how="horizontal")
    reasons = [
        pl.when(pl.col(f"_flag_bad:{name}")).then(message)
        for name, (_, _, message) in given.items()
    ] + [
        pl.when(pl.col(f"_flag_late:{name}")).then(
            pl.lit(f"{name}: before the referral was received")
        )
        for name in late
    ]
    if "reference" in given:
        column = mapping.columns["reference"]
        reasons.append(
            pl.when(pl.col("_flag_again:reference")).then(
                pl.format(
                    f"reference ({column}): '{{}}' is in an earlier row too", "_flagreference"
                )
            )
        )
    words = both.select(pl.concat_list(reasons).list.drop_nulls().list.join("; ").alias("reasons"))
    return pl.concat([raw.select("row"), words, raw.drop("row")], how="horizontal")


def _value(frame: pl.DataFrame, mapping: Mapping, name: str, tz: ZoneInfo):
    """(the parsed column, whether it is bad, what is wrong in words) for one of our fields."""
    column = mapping.columns[name]
    raw = pl.col(column)
    dtype = frame.schema[column]
    label = f"{name} ({column})"
    if name in TIME_FIELDS:
        parsed = _time(raw, dtype, mapping.formats, tz)
        bad = raw.is_not_null() & parsed.is_null()
        message = pl.format(f"{label}: '{{}}' is not a date and time in a known format", raw)
        if name == "received_at":
            message = pl.when(raw.is_null()).then(pl.lit(f"{label}: missing")).otherwise(message)
            bad = raw.is_null() | bad
        return parsed, bad, message
    text = _mapped(raw, mapping.values.get(name, {}))
    if name in CHOICES:
        # A column of a few distinct words: each word is looked up once, not once a row.
        words = frame[column].drop_nulls().unique().cast(pl.String).to_list()
        codes = {word: _code(word, mapping.values.get(name, {}), name) for word in words}
        parsed = raw.cast(pl.String).replace_strict(
            list(codes), list(codes.values()), default=None, return_dtype=pl.String
        )
        ours = ", ".join(CHOICES[name])
        message = pl.format(
            f"{label}: '{{}}' is not one of ours ({ours}); map it: --value {name}:{{}}=ours",
            raw,
            raw,
        )
        return parsed, raw.is_not_null() & parsed.is_null(), message
    if name == "records_complete_on_arrival":
        low = text.str.to_lowercase()
        parsed = pl.when(low.is_in(TRUE)).then(True).when(low.is_in(FALSE)).then(False)
        message = pl.format(f"{label}: '{{}}' is not yes or no", raw)
        return parsed, text.is_not_null() & parsed.is_null(), message
    if name == "no_shows":
        parsed = text.cast(pl.Int32, strict=False)
        message = pl.format(f"{label}: '{{}}' is not a count", raw)
        return parsed, text.is_not_null() & (parsed.is_null() | (parsed < 0)), message
    return text, pl.lit(False), pl.lit(None, pl.String)


def _code(word: str, pairs: dict[str, str], name: str) -> str | None:
    """Our code for one of their words (mapped first, then our spelling), None if unknown."""
    word = pairs.get(word.strip().lower(), word)
    code = re.sub(r"[\s\-]+", "_", word.strip().lower())
    return code if code in CHOICES[name] else None


def _mapped(raw: pl.Expr, pairs: dict[str, str]) -> pl.Expr:
    text = raw.cast(pl.String)
    if not pairs:
        return text
    return text.str.to_lowercase().replace_strict(
        list(pairs), list(pairs.values()), default=text, return_dtype=pl.String
    )


def _time(
    raw: pl.Expr, dtype: pl.DataType, formats: tuple[str, ...], tz: ZoneInfo, *, later=False
) -> pl.Expr:
    """A column of UTC times. Times without a zone are the practice's local wall-clock; a local
    time that does not exist (the hour the clocks go forward) cannot be read; an ambiguous one
    (the hour they go back happens twice) is taken as the earlier, or the `later`."""
    if isinstance(dtype, pl.Datetime):
        local = raw if dtype.time_zone else _localize(raw, tz, later)
        return local.dt.convert_time_zone("UTC").cast(UTC_TIME)
    if isinstance(dtype, pl.Date):
        return _localize(raw.cast(pl.Datetime("us")), tz, later).dt.convert_time_zone("UTC")
    text = raw.cast(pl.String)
    tries = []
    for fmt in formats:
        if "%z" in fmt or "%:z" in fmt or "%#z" in fmt:
            aware = text.str.to_datetime(fmt, strict=False, time_unit="us")
            tries.append(aware.dt.convert_time_zone("UTC"))
        else:
            naive = text.str.to_datetime(fmt, strict=False, time_unit="us", time_zone=None)
            tries.append(_localize(naive, tz, later).dt.convert_time_zone("UTC"))
    parsed = pl.coalesce(tries).cast(UTC_TIME)
    # "%Y" reads "3/5/26" as the year 26: a year no referral was made in is no date.
    return pl.when(parsed.dt.year().is_between(1900, 2200)).then(parsed)


def _localize(naive: pl.Expr, tz: ZoneInfo, later: bool = False) -> pl.Expr:
    ambiguous = "latest" if later else "earliest"
    return naive.dt.replace_time_zone(str(tz), ambiguous=ambiguous, non_existent="null")


def _ambiguous_later(frame: pl.DataFrame, values: pl.DataFrame, mapping: Mapping, tz: ZoneInfo):
    """A step's local time in the hour the clocks go back is taken as its second occurrence when
    the first would put it before the referral arrived and the second does not (received at
    01:30 EDT, acknowledged at 01:10 EST). Only the few rows that need it are parsed again."""
    names = [n for n in mapping.columns if n in TIME_FIELDS and n != "received_at"]
    if not names:
        return values
    received = pl.col("received_at")
    early = values.select(
        pl.any_horizontal((pl.col(n) < received).fill_null(False) for n in names)
    ).to_series()
    if not early.any():
        return values
    columns = {n: mapping.columns[n] for n in names}
    later = frame.filter(early).select(
        "row",
        *(_time(pl.col(c), frame.schema[c], mapping.formats, tz, later=True).alias(f"_later:{n}")
          for n, c in columns.items()),
    )  # fmt: skip
    chosen = (
        values.filter(early)
        .join(later, on="row")
        .select(
            "row",
            *(
                pl.when((pl.col(n) < received) & (pl.col(f"_later:{n}") >= received))
                .then(pl.col(f"_later:{n}"))
                .otherwise(pl.col(n))
                .alias(n)
                for n in names
            ),
        )
    )
    return values.update(chosen, on="row")


def _derive(values: pl.DataFrame, given: dict) -> pl.DataFrame:
    """Fill in what the file does not say (module docstring); what it says always wins."""

    def has(name: str) -> bool:
        return name in given

    def col(name: str, dtype=UTC_TIME) -> pl.Expr:
        return pl.col(name) if has(name) else pl.lit(None, dtype=dtype)

    def given_or(name: str, derived: pl.Expr, dtype=UTC_TIME) -> pl.Expr:
        return pl.coalesce(col(name, dtype), derived).alias(name)

    row_key = pl.format("row {}", "row")
    frame = values.with_columns(
        pl.col("row").cast(pl.Int64).alias("referral_id"),
        *(given_or(name, pl.lit(default), pl.String) for name, default in TEXT_DEFAULTS.items()),
        given_or("patient_key", row_key, pl.String),
    )
    state = col("state", pl.String)
    decision = (
        pl.when(col("declined_at").is_not_null())
        .then(pl.lit("declined"))
        .when(col("redirected_at").is_not_null())
        .then(pl.lit("redirected"))
        .when(state.is_in(["declined", "redirected"]))
        .then(state)
        .when(col("accepted_at").is_not_null() | col("decided_at").is_not_null())
        .then(pl.lit("accepted"))
    )
    frame = frame.with_columns(given_or("decision", decision, pl.String))
    decided = pl.coalesce(col("accepted_at"), col("declined_at"), col("redirected_at"))
    frame = frame.with_columns(given_or("decided_at", decided))
    accepted = pl.when(pl.col("decision") == "accepted").then(pl.col("decided_at"))
    frame = frame.with_columns(given_or("accepted_at", accepted))
    frame = frame.with_columns(given_or("state", _state(frame.columns), pl.String))
    # Activity is anything that happened; a booked appointment's time may still be ahead.
    times = [c for c in frame.columns if c in TIME_FIELDS and c != "appointment_at"]
    frame = frame.with_columns(given_or("last_activity_at", pl.max_horizontal(times)))
    frame = frame.with_columns(given_or("ended_at", _ended(frame.columns)))
    # Text is "" when unknown (FACT_SCHEMA: referrer_key "" if unknown), never null.
    milestones = frame.select(
        _column(frame.columns, c).fill_null("") if FACT_SCHEMA[c] == pl.String() else
        _column(frame.columns, c) for c in MILESTONE_COLUMNS
    )  # fmt: skip
    if has(FIRST_APPOINTMENT):  # optional: facts_build judges the appointment target on it
        milestones = milestones.with_columns(frame[FIRST_APPOINTMENT])
    return milestones


def _column(columns: list[str], name: str) -> pl.Expr:
    value = pl.col(name) if name in columns else pl.lit(None)
    return value.cast(FACT_SCHEMA[name]).alias(name)


def _state(columns: list[str]) -> pl.Expr:
    def at(name: str) -> pl.Expr:
        return pl.col(name).is_not_null() if name in columns else pl.lit(False)

    decision = pl.col("decision")
    return (
        pl.when(at("cancelled_at"))
        .then(pl.lit("cancelled"))
        .when(at("report_sent_at"))
        .then(pl.lit("closed"))
        .when(at("seen_at"))
        .then(pl.lit("completed"))
        .when(decision.is_in(["declined", "redirected"]))
        .then(decision)
        .when(at("appointment_at") | at("booked_at"))
        .then(pl.lit("scheduled"))
        .when(decision == "accepted")
        .then(pl.lit("accepted"))
        .otherwise(pl.lit("received"))
    )


def _ended(columns: list[str]) -> pl.Expr:
    def col(name: str) -> pl.Expr:
        return pl.col(name) if name in columns else pl.lit(None, dtype=UTC_TIME)

    state = pl.col("state")
    return (
        pl.when(state == "closed")
        .then(col("report_sent_at"))
        .when(state == "declined")
        .then(pl.coalesce(col("declined_at"), col("decided_at")))
        .when(state == "redirected")
        .then(pl.coalesce(col("redirected_at"), col("decided_at")))
        .when(state == "cancelled")
        .then(pl.coalesce(col("cancelled_at"), col("last_activity_at")))
    )


# A target is judged when its clock stops; a file without the column that stops it cannot say.
TARGET_ENDS = {
    "acknowledge": ("acknowledged_at",),
    "triage": ("decided_at", "accepted_at", "declined_at", "redirected_at", "decision"),
    "first_contact": ("first_contact_at",),
    "appointment": ("booked_at",),
    "report": ("report_sent_at",),
}
GAP_NOTES = {
    "acknowledged_at": "when the referrer was acknowledged",
    "booked_at": "when appointments were booked (the funnel's 'scheduled' step, days to "
    "appointment and the appointment target)",
    "report_delivered_at": "when reports were delivered (report delivered within N days)",
    "first_contact_at": "first patient contact",
    "report_sent_at": "when reports were sent",
}


# The headline numbers (metrics.headline keys) a file without the column cannot tell.
HEADLINE_NEEDS = {
    "seen_at": ("seen", "conversion"),
    "booked_at": ("days_to_appointment",),
    "acknowledged_at": ("acknowledged_within_target",),
    "report_sent_at": ("report_within_target",),
    "report_delivered_at": ("report_delivered_within",),
}


def headline_unknown(mapping: Mapping) -> frozenset[str]:
    return frozenset(
        key for column, keys in HEADLINE_NEEDS.items() if column not in mapping.columns
        for key in keys
    )  # fmt: skip


def facts_unjudged(
    facts: pl.DataFrame, *, mapping: Mapping
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """The facts with the targets the file cannot judge left unjudged (null), and notes that say
    what the file does not have (so a missing column reads as "not known", never as "missed")."""
    given = set(mapping.columns)
    blind = [kind for kind, ends in TARGET_ENDS.items() if not given & set(ends)]
    facts = facts.with_columns(pl.lit(None, dtype=pl.Boolean).alias(f"{k}_met") for k in blind)
    missing = [text for column, text in GAP_NOTES.items() if column not in given]
    notes = (
        f"The file does not say {'; '.join(missing)}: "
        "those numbers cannot come from it (they show as blank or 0).",
    )
    return facts, notes if missing else ()
