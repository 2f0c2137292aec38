"""`refloop audit FILE`: the headline of a month from another system's export, and the monthly
review (HTML and PDF) written beside the rows that could not be read. No server, no database:
Django's settings are never configured, so no connection can be opened.

    refloop audit referrals.csv --month 2026-10 --out review/ \\
        --column received_at="Date Received" --column service_line=Department \\
        --value channel:Fax=fax --date-format "%m/%d/%Y %H:%M"
    refloop audit export.parquet --from refloop
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from refloop.analytics.audit import AuditError
from refloop.analytics.audit.history import (
    REFLOOP_STATES,
    REFLOOP_WAITING,
    STATE_FIELDS,
    WAITING_FIELDS,
    HistoryFile,
    history_columns,
    history_values,
    states_parse,
    waiting_parse,
)
from refloop.analytics.audit.mapping import (
    BUILT_IN,
    FIELDS,
    Mapping,
    mapping_load,
    mapping_merge,
)
from refloop.analytics.audit.milestones import (
    Parsed,
    facts_unjudged,
    headline_unknown,
    milestones_parse,
)
from refloop.analytics.audit.program import Program, program_load, program_standard
from refloop.analytics.audit.reading import file_read
from refloop.analytics.scope import month_after

SHOWN_BAD_ROWS = 10


@dataclass(frozen=True)
class Audit:
    review: object  # analytics.review.Review
    parsed: Parsed
    facts: pl.DataFrame
    written: tuple[Path, ...]


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command != "audit":
        parser.print_help()
        return 2
    try:
        audit = audit_run(
            path=Path(args.file),
            mapping=_mapping(args),
            program=program_load(args.program) if args.program else program_standard(),
            month=_month(args.month),
            tz=_zone(args.tz),
            as_of=_moment(args.as_of),
            out=Path(args.out),
            organization=args.name,
            waiting=_history(args, "waiting"),
            states=_history(args, "states"),
        )
    except AuditError as error:
        print(f"refloop audit: {error}", file=sys.stderr)
        return 2
    print(audit_text(audit))
    return 0


def audit_run(
    *,
    path: Path,
    mapping: Mapping,
    program: Program,
    month: dt.date | None,
    tz: ZoneInfo,
    as_of: dt.datetime | None,
    out: Path,
    organization: str = "",
    waiting: HistoryFile | None = None,
    states: HistoryFile | None = None,
) -> Audit:
    """Read, quarantine, build the facts, review the month, write the files."""
    from refloop.analytics.build import facts_build
    from refloop.analytics.review import review_build, review_html, review_pdf
    from refloop.core.calendar import BusinessCalendar

    parsed = milestones_parse(file_read(path), mapping=mapping, tz=tz)
    if parsed.milestones.is_empty():
        raise AuditError(
            f"None of the {parsed.rows:,} rows could be read; see the reasons in "
            f"{_quarantine_write(parsed, out, path)}."
        )
    waited = _history_read(waiting_parse, waiting, parsed, mapping, tz)
    changed = _history_read(states_parse, states, parsed, mapping, tz)
    as_of = as_of or dt.datetime.now(dt.UTC)
    lines = parsed.milestones["service_line"].unique().sort().to_list()
    facts = facts_build(
        parsed.milestones,
        waiting=waited.intervals if waited else None,
        states=changed.intervals if changed else None,
        bookings=changed.bookings if changed else None,
        targets=program.targets_frame(lines),
        calendar=BusinessCalendar(closures=program.closures, tz=tz),
        as_of=as_of,
    )
    facts, gaps = facts_unjudged(facts, mapping=mapping)
    month = month or _latest_month(facts, tz, as_of)
    review = review_build(
        facts,
        month=month,
        targets=program.goals,
        tz=tz,
        as_of=as_of,
        organization=organization,
        pilot=program.pilot,
        notes=_notes(parsed, path) + _history_notes(waited, waiting, changed, states) + gaps,
        unknown=headline_unknown(mapping),
    )
    out.mkdir(parents=True, exist_ok=True)
    stem = f"review-{review.month:%Y-%m}"
    html, pdf = out / f"{stem}.html", out / f"{stem}.pdf"
    html.write_text(review_html(review), encoding="utf-8")
    pdf.write_bytes(review_pdf(review))
    written = [html, pdf]
    if parsed.quarantine.height:
        written.append(_quarantine_write(parsed, out, path))
    for read, given in ((waited, waiting), (changed, states)):
        if read and read.quarantine.height:
            written.append(_quarantine_write(read, out, given.path))
    return Audit(review=review, parsed=parsed, facts=facts, written=tuple(written))


def _history_read(parse, given: HistoryFile | None, parsed: Parsed, mapping, tz):
    if given is None:
        return None
    frame = file_read(given.path)
    return parse(frame, given=given, mapping=mapping, references=parsed.references, tz=tz)


def _history_notes(waited, waiting, changed, states) -> tuple[str, ...]:
    notes = []
    if waited is None:
        notes.append("No waiting file: net durations equal gross (nothing known to pause them).")
    if changed is None:
        notes.append("No state history: time in each state is not known.")
    for read, given in ((waited, waiting), (changed, states)):
        if read is None:
            continue
        note = f"{given.path.name}: {read.intervals.height:,} rows used."
        if read.quarantine.height:
            note += (
                f" {read.quarantine.height:,} could not be used (see "
                f"quarantine-{given.path.stem}.csv)."
            )
        notes.append(note)
    return tuple(notes)


def audit_text(audit: Audit) -> str:
    """What the terminal shows: the headline table, the rows left out, the files written."""
    review, parsed = audit.review, audit.parsed
    headline = review.table("headline")
    widths = [max(len(c), *(len(r.cells[i]) for r in headline.rows)) for i, c in
              enumerate(headline.columns)]  # fmt: skip
    lines = [review.title, "", _line(headline.columns, widths)]
    lines += [_line(row.cells, widths) for row in headline.rows]
    lines += ["", f"Rows read: {parsed.rows:,}; in the metrics: {parsed.milestones.height:,}; "
              f"left out: {parsed.quarantine.height:,}."]  # fmt: skip
    for row in parsed.quarantine.head(SHOWN_BAD_ROWS).iter_rows(named=True):
        lines.append(f"  row {row['row']}: {row['reasons']}")
    if parsed.quarantine.height > SHOWN_BAD_ROWS:
        lines.append(f"  ... and {parsed.quarantine.height - SHOWN_BAD_ROWS:,} more")
    lines += ["", "Wrote:"] + [f"  {path}" for path in audit.written]
    return "\n".join(lines)


def _line(cells, widths) -> str:
    first = cells[0].ljust(widths[0])
    return "  ".join([first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))])


def _notes(parsed: Parsed, path: Path) -> tuple[str, ...]:
    note = f"Audit of {path.name}: {parsed.rows:,} rows read, {parsed.milestones.height:,} used."
    if parsed.quarantine.height:
        note += (
            f" {parsed.quarantine.height:,} rows could not be read and are left out of every "
            f"number (their row numbers and reasons are in quarantine-{path.stem}.csv)."
        )
    return (note,)


def _quarantine_write(parsed, out: Path, path: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"quarantine-{path.stem}.csv"
    quarantine = parsed.quarantine.with_columns(
        pl.col(c).cast(pl.String) for c in parsed.quarantine.columns
    )
    quarantine.write_csv(target)
    return target


def _latest_month(facts: pl.DataFrame, tz: ZoneInfo, as_of: dt.datetime) -> dt.date:
    """The latest month that is over by as_of and has referrals; else the latest month."""
    local = facts["received_at"].dt.convert_time_zone(tz.key).dt.date()
    months = sorted({d.replace(day=1) for d in local.drop_nulls().to_list()})
    today = as_of.astimezone(tz).date()
    over = [m for m in months if month_after(m) <= today]
    return (over or months)[-1]


# Arguments ------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="refloop", description="Refloop without a server.")
    commands = parser.add_subparsers(dest="command")
    audit = commands.add_parser(
        "audit",
        help="The monthly review of another system's referral export.",
        description="Print the headline metrics of a month and write the monthly review "
        "(HTML and PDF) of a CSV, Excel or Parquet file of referrals.",
    )
    audit.add_argument("file", help="CSV (.csv), Excel (.xlsx) or Parquet (.parquet)")
    audit.add_argument("--month", help="YYYY-MM (default: the latest month over)")
    audit.add_argument("--out", default="refloop-audit", help="where the report goes")
    audit.add_argument("--from", dest="built_in", choices=sorted(BUILT_IN),
                       help="a built-in mapping: refloop (Refloop's referral export)")  # fmt: skip
    audit.add_argument("--mapping", help="a saved mapping (JSON: columns, values, date_formats)")
    audit.add_argument("--column", action="append", default=[], metavar='FIELD="Their column"',
                       help=f"our fields: {', '.join(sorted(FIELDS))}")  # fmt: skip
    audit.add_argument("--value", action="append", default=[], metavar="FIELD:THEIRS=OURS",
                       help="e.g. channel:eFax=fax, state:Done=closed")  # fmt: skip
    audit.add_argument("--date-format", action="append", default=[], metavar="FORMAT",
                       help='e.g. "%%m/%%d/%%Y %%H:%%M" (zone-less times are --tz)')  # fmt: skip
    audit.add_argument("--tz", default="America/New_York", help="the practice's time zone")
    audit.add_argument("--program", help="targets, goals and closures (JSON)")
    audit.add_argument("--as-of", help="judge open referrals as of this time (default: now)")
    audit.add_argument("--name", default="", help="the practice's name, for the report")
    audit.add_argument("--waiting", help="a file of blockers that paused the clocks")
    audit.add_argument("--waiting-column", action="append", default=[], metavar="FIELD=Column",
                       help="reference, kind, started_at, ended_at")  # fmt: skip
    audit.add_argument("--waiting-value", action="append", default=[], metavar="kind:THEIRS=OURS")
    audit.add_argument("--states", help="a file of state changes (the state history)")
    audit.add_argument("--states-column", action="append", default=[], metavar="FIELD=Column",
                       help="reference, state, started_at, from_state, appointment_at")  # fmt: skip
    audit.add_argument("--states-value", action="append", default=[], metavar="state:THEIRS=OURS")
    return parser


HISTORY = {
    "waiting": (WAITING_FIELDS, REFLOOP_WAITING, "kind"),
    "states": (STATE_FIELDS, REFLOOP_STATES, "state"),
}


def _history(args, name: str) -> HistoryFile | None:
    path = getattr(args, name)
    if not path:
        return None
    fields, built_in, field = HISTORY[name]
    base = built_in if args.built_in == "refloop" else {}
    option = f"--{name}-column"
    columns = history_columns(
        getattr(args, f"{name}_column"), fields=fields, base=base, option=option
    )
    values = history_values(getattr(args, f"{name}_value"), field=field, option=f"--{name}-value")
    return HistoryFile(path=Path(path), columns=columns, values=values)


def _mapping(args) -> Mapping:
    base = BUILT_IN[args.built_in] if args.built_in else Mapping()
    if args.mapping:
        saved = mapping_load(args.mapping)
        base = mapping_merge(
            saved, columns=[f"{k}={v}" for k, v in base.columns.items()
                            if k not in saved.columns],
        ) if args.built_in else saved  # fmt: skip
    return mapping_merge(
        base, columns=args.column, values=args.value, date_formats=args.date_format
    )


def _month(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        month = dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise AuditError(f"--month {text!r}: write it as YYYY-MM (2026-10).") from None
    if not 1900 <= month.year <= 2200:  # the years a date in the file may be in (milestones)
        raise AuditError(f"--month {text!r}: no referral is read from that year.")
    return month


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise AuditError(f"--tz {name!r}: not a time zone (America/New_York).") from None


def _moment(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise AuditError(f"--as-of {text!r}: write it as 2026-11-01T00:00:00+00:00.") from None
    if moment.tzinfo is None:
        raise AuditError("--as-of: give the time zone (2026-11-01T00:00:00-04:00).")
    return moment


if __name__ == "__main__":
    sys.exit(main())
