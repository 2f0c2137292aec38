"""The monthly review: one report for a month, the same from the app and from `refloop audit`
(issue 5, "The monthly review"). Django-free.

`review_build` asks the metric functions (analytics.metrics) for the month's numbers and lays
them out; it computes nothing of its own, so the review, the dashboards and the audit can never
disagree. What it shows:

- the headline numbers against last month and against target (metrics.headline);
- the funnel and where the rest went (metrics.funnel), the cycle times (metrics.cycle);
- the biggest bottlenecks (metrics.bottlenecks);
- referrers to call: drop-off alerts, a referrer whose volume fell significantly below their own
  baseline (metrics.referrers);
- the pilot comparison when one is configured (metrics.pilot);
- charts (analytics.charts): SVG in the HTML, vector drawings in the PDF, PNG in the e-mail.

Everything in a review is an aggregate: counts, rates, durations, referrer names. No patient.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from refloop.analytics.charts import CycleRow, cycle_summary_chart, funnel_chart
from refloop.analytics.metrics.access import access
from refloop.analytics.metrics.bottlenecks import bottlenecks
from refloop.analytics.metrics.cycle import cycle_times
from refloop.analytics.metrics.funnel import funnel
from refloop.analytics.metrics.headline import headline
from refloop.analytics.metrics.pilot import pilot_compare
from refloop.analytics.metrics.referrers import referrers
from refloop.analytics.scope import Scope, month_before

TEMPLATES = Path(__file__).parent / "templates"
# What a manager reads first: the headline, where referrals went, where they stall, whom to call.
TABLE_ORDER = ("headline", "outcomes", "bottlenecks", "calls", "pilot", "cycle", "access")


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]
    flag: str = ""  # "good" or "bad": how the row reads against its target or alert


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    note: str = ""  # the definition, in a manager's words
    empty: str = "Nothing this month."


@dataclass(frozen=True)
class Figure:
    key: str
    scene: object  # analytics.charts.Scene: .svg(), .drawing(width), .png()

    @property
    def title(self) -> str:
        return self.scene.title


@dataclass(frozen=True)
class Review:
    month: dt.date  # the first day of the month reviewed
    title: str
    organization: str
    as_of: dt.datetime
    tz: ZoneInfo
    numbers: dict[str, float | None]  # headline key -> this month (what the audit prints)
    tables: tuple[Table, ...]
    figures: tuple[Figure, ...]
    notes: tuple[str, ...] = ()  # about the data (rows left out of an audit, a young month)
    results: dict = field(default_factory=dict, compare=False)  # the metric results themselves

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


# Text of numbers (the HTML, the PDF and the terminal print the same strings) ------------------


def number_text(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "share":
        return f"{value * 100:.0f}%"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "days":
        return f"{value:,.1f} days"
    if unit == "hours":
        return f"{value:,.1f} h"
    return f"{value:,.2f}"


def change_text(this: float | None, last: float | None, unit: str) -> str:
    if this is None or last is None:
        return "–"
    delta = this - last
    shown = {"share": (delta * 100, ".0f", " pts"), "count": (delta, ",.0f", "")}.get(
        unit, (delta, ",.1f", "")
    )
    value, fmt, suffix = shown
    text = f"{value:+{fmt}}"
    # A change too small to print is no change (never "-0").
    if text.lstrip("+-").strip("0.,") == "":
        text = "0" if unit != "days" else "0.0"
    return text + suffix


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


# Building -------------------------------------------------------------------------------------


# The review looks at the year that leads to its month: referrals received in the month and the
# twelve before it (last month, referrer trends and drop-off baselines, the year's loop closure),
# and any referral still open then (ageing, stale), however old. Nothing older changes a number
# it prints, and the app reads only these rows (a program's whole history would cost seconds).
REVIEW_MONTHS = 13


def review_window(month: dt.date) -> dt.date:
    """The first day of the review's window: the month twelve months before `month`."""
    first = month.replace(day=1)
    for _ in range(REVIEW_MONTHS - 1):
        first = month_before(first)
    return first


def review_facts(facts: pl.DataFrame, *, since: dt.date, tz: ZoneInfo) -> pl.DataFrame:
    """The facts the review of a month reads: received on or after `since`, or not ended
    before it."""
    moment = dt.datetime.combine(since, dt.time.min, tz).astimezone(dt.UTC)
    ended = pl.col("ended_at")
    return facts.filter((pl.col("received_at") >= moment) | ended.is_null() | (ended >= moment))


def review_build(
    facts: pl.DataFrame,
    *,
    month: dt.date,
    targets: dict,
    tz: ZoneInfo,
    as_of: dt.datetime | None = None,
    organization: str = "",
    appointments: pl.DataFrame | None = None,
    tna: pl.DataFrame | None = None,
    pilot=None,
    notes: tuple[str, ...] = (),
    unknown: frozenset[str] = frozenset(),
) -> Review:
    """The review of the referrals received in `month` (a date in it), judged as of the month's
    end (or `as_of`, if earlier: a month still running). `targets`: headline key -> goal (see
    metrics.headline); `pilot`: a metrics.pilot configuration, or None; `unknown`: headline keys
    the data cannot tell (an audited file without the column), shown as "not in the data"."""
    first = month.replace(day=1)
    scope = Scope.month(first, tz=tz, as_of=as_of)
    previous = Scope.month(month_before(first), tz=tz, as_of=as_of)
    everything, facts = facts, review_facts(facts, since=review_window(first), tz=tz)
    results = {
        "headline": headline(facts, scope, previous=previous, targets=targets),
        "funnel": funnel(facts, scope),
        "cycle": cycle_times(facts, scope),
        "referrers": referrers(facts, scope),
        "bottlenecks": bottlenecks(facts, scope),
        "access": access(facts, scope, appointments=appointments, tna=tna),
    }
    if pilot is not None:
        results["pilot"] = pilot_compare(
            everything, pilot, as_of=scope.as_of, tz=scope.tz, appointments=appointments
        )
    tables = [t for t in (_table(name, result) for name, result in results.items()) if t]
    tables = tuple(sorted(tables, key=lambda t: TABLE_ORDER.index(t.key)))
    tables = tuple(_unknown(t, results["headline"], unknown) for t in tables)
    title = f"Monthly review: {first:%B %Y}"
    return Review(
        month=first,
        title=title,
        organization=organization,
        as_of=scope.as_of,
        tz=tz,
        numbers={
            n.key: None if n.key in unknown else n.this_month for n in results["headline"].numbers
        },
        tables=tables,
        figures=_figures(results),
        notes=tuple(notes) + _young(scope),
        results=results,
    )


def _young(scope: Scope) -> tuple[str, ...]:
    end = scope.moment(scope.end)
    if scope.as_of < end:
        return (
            f"The month is not over: numbers are as of {scope.as_of:%Y-%m-%d %H:%M %Z}, and "
            "referrals received late in it have had little time to reach later steps.",
        )
    return ()


def _table(name: str, result) -> Table | None:
    build = {
        "headline": _headline_table,
        "funnel": _outcomes_table,
        "cycle": _cycle_table,
        "referrers": _calls_table,
        "pilot": _pilot_table,
        "bottlenecks": _bottlenecks_table,
        "access": _access_table,
    }.get(name)
    return build(result) if build else None


def _unknown(table: Table, headline, unknown: frozenset[str]) -> Table:
    """The headline with the numbers the data cannot tell blanked out (never a false 0%)."""
    if table.key != "headline" or not unknown:
        return table
    rows = tuple(
        Row((n.label, "not in the data", "", "", row.cells[4], "")) if n.key in unknown else row
        for n, row in zip(headline.numbers, table.rows, strict=True)
    )
    return replace(table, rows=rows)


def _headline_table(headline) -> Table:
    rows = []
    for n in headline.numbers:
        status = {True: "on target", False: "off target", None: ""}[n.on_target]
        rows.append(
            Row(
                (
                    n.label,
                    number_text(n.this_month, n.unit),
                    number_text(n.last_month, n.unit),
                    change_text(n.this_month, n.last_month, n.unit),
                    number_text(n.target, n.unit) if n.target is not None else "",
                    status,
                ),
                flag={True: "good", False: "bad", None: ""}[n.on_target],
            )
        )
    return Table(
        key="headline",
        title="Headline",
        columns=("Measure", "This month", "Last month", "Change", "Target", ""),
        rows=tuple(rows),
        note="Referrals received in the month, each judged as of the month's end.",
    )


def _outcomes_table(funnel) -> Table:
    rows = tuple(
        Row((o.label, number_text(o.count, "count"), number_text(o.of_received, "share")))
        for o in funnel.outcomes
    )
    return Table(
        key="outcomes",
        title="Where the month's referrals stand",
        columns=("Outcome", "Referrals", "Of received"),
        rows=rows,
        note=f"Each referral is in exactly one line. Stale: open with no activity for "
        f"{funnel.stale_after} business days.",
    )


def _cycle_table(cycle) -> Table:
    rows = tuple(
        Row(
            (
                s.label,
                number_text(s.count, "count"),
                number_text(hours(s.net_median), "hours"),
                number_text(hours(s.net_p90), "hours"),
                number_text(hours(s.gross_median), "hours"),
                number_text(s.met_share, "share") if s.target else "",
            )
        )
        for s in cycle.steps
    )
    return Table(
        key="cycle",
        title="Cycle times",
        columns=("Step", "Done", "Median (net)", "p90 (net)", "Median (gross)", "Within target"),
        rows=rows,
        note="Business hours on the practice calendar (stat referrals: around the clock). Net "
        "leaves out the time spent waiting on others.",
    )


BIGGEST_BOTTLENECKS = 8


def _bottlenecks_table(found) -> Table:
    """The longest leg of each service line's path first, then the second longest, ..."""
    legs = sorted(found.costly_legs, key=lambda leg: (leg.rank, -(leg.net_median or 0)))
    rows = tuple(
        Row(
            (
                leg.service_line,
                leg.label,
                number_text(leg.referrals, "count"),
                number_text(hours(leg.net_median), "hours"),
            )
        )
        for leg in legs[:BIGGEST_BOTTLENECKS]
    )
    return Table(
        key="bottlenecks",
        title="Biggest bottlenecks",
        columns=("Service line", "Step", "Referrals", "Median (net)"),
        rows=rows,
        note=f"The steps that cost the most time in each service line (median net business "
        f"time of the month's referrals that finished them). {found.open_total:,} referrals "
        "were open at the month's end.",
    )


def _access_table(report) -> Table:
    tna = {t.service_line: t for t in report.tna if not t.visit_type}
    rows = [
        Row(
            (
                w.service_line or "All service lines",
                number_text(w.appointments, "count"),
                number_text(w.median_days, "days"),
                number_text(w.p90_days, "days"),
                _tna_text(tna.get(w.service_line)),
            )
        )
        for w in _line_waits(report.waits)
    ]
    shows = report.no_shows.overall
    note = (
        "Calendar days from receipt to the appointment (median and p90); third next available: "
        "the mean over the month's daily measurements."
    )
    if shows is not None:
        note += (
            f" No-shows: {shows.no_shows:,} of {shows.visits:,} visits due "
            f"({number_text(shows.rate.estimate, 'share')})."
        )
    return Table(
        key="access",
        title="Days to appointment",
        columns=("Service line", "Booked", "Median", "p90", "Third next available"),
        rows=tuple(rows),
        note=note,
    )


def _tna_text(tna) -> str:
    """The month's mean third next available (days), or why there is none."""
    if tna is None:
        return ""
    if tna.period_mean_days is None:
        return tna.status.replace("_", " ")
    return number_text(tna.period_mean_days, "days")


def _line_waits(waits) -> list:
    """One row per service line (and the whole program first), not per visit type."""
    seen, out = set(), []
    for w in waits:
        if not w.visit_type and w.service_line not in seen:
            seen.add(w.service_line)
            out.append(w)
    return out


def _calls_table(report) -> Table:
    rows = tuple(
        Row(
            (
                a.name or a.key,
                a.practice,
                f"{a.recent_count} (expected {a.expected:.1f})",
                f"{a.baseline_count}",
                f"{a.last_referral_on:%Y-%m-%d}",
                f"{a.p_value:.3f}",
            ),
            flag="bad",
        )
        for a in report.alerts
    )
    return Table(
        key="calls",
        title="Referrers to call",
        columns=("Referrer", "Practice", "Recent referrals", "Baseline", "Last referral", "p"),
        rows=rows,
        note="A referrer whose recent volume fell significantly below their own baseline rate "
        "(exact Poisson test, one-sided, p < 0.05).",
        empty="No referrer's volume fell significantly this month.",
    )


def _pilot_table(compared) -> Table:
    rows = []
    for m in compared.metrics:
        d = m.difference
        unit = "days" if m.unit == "days" else "share"
        if d.estimate is None:
            difference = "–"
        elif unit == "share":
            difference = f"{d.estimate * 100:+.0f} pts ({d.low * 100:+.0f} to {d.high * 100:+.0f})"
        else:
            difference = f"{d.estimate:+.1f} days ({d.low:+.1f} to {d.high:+.1f})"
        flag = {"better in the pilot": "good", "worse in the pilot": "bad"}.get(m.verdict, "")
        rows.append(
            Row(
                (
                    m.label,
                    f"{number_text(m.pilot, unit)} (n={m.pilot_n})",
                    f"{number_text(m.comparison, unit)} (n={m.comparison_n})",
                    difference,
                    m.verdict,
                ),
                flag=flag,
            )
        )
    return Table(
        key="pilot",
        title=f"Pilot against its {compared.comparison_label}",
        columns=("Measure", "Pilot", compared.comparison_label.capitalize(), "Difference (95%)",
                 "Verdict"),
        rows=tuple(rows),
        note=f"{compared.pilot_referrals:,} pilot referrals, {compared.comparison_referrals:,} "
        "in the comparison. Shares: Newcombe's interval of the difference; the median: a "
        "bootstrap. An interval that includes 0 is noise, not an improvement.",
    )  # fmt: skip


def _figures(results: dict) -> tuple[Figure, ...]:
    figures = [Figure("funnel", funnel_chart(results["funnel"], key="review-funnel"))]
    rows = [
        CycleRow(
            label=s.label,
            median=hours(s.net_median),
            p90=hours(s.net_p90),
            unit="h",
            within_target=s.met_share,
            count=s.count,
        )
        for s in results["cycle"].steps
        if s.count
    ]
    if rows:
        figures.append(Figure("cycle", cycle_summary_chart(rows, key="review-cycle")))
    return tuple(figures)


# Rendering ------------------------------------------------------------------------------------


def review_html(review: Review) -> str:
    """A whole HTML document (the page, the audit's file, the e-mail's body share it). Django's
    template language with its own engine: no settings, no database."""
    from django.template import Context, Engine
    from django.utils.safestring import mark_safe

    engine = Engine(dirs=[str(TEMPLATES)], autoescape=True)
    template = engine.get_template("analytics/review.html")
    figures = [{"title": f.title, "svg": mark_safe(f.scene.svg())} for f in review.figures]  # noqa: S308  (our SVG, its texts escaped)
    return template.render(
        Context(
            {
                "review": review,
                "subtitle": review_subtitle(review),
                "tables": review.tables,
                "figures": figures,
            },
            use_l10n=False,
        )
    )


def review_subtitle(review: Review) -> str:
    local = review.as_of.astimezone(review.tz)
    who = f"{review.organization} · " if review.organization else ""
    return f"{who}Referrals received in {review.month:%B %Y}, as of {local:%Y-%m-%d %H:%M %Z}"


def review_pdf(review: Review) -> bytes:
    from refloop.analytics.review_pdf import review_pdf_render

    return review_pdf_render(review, subtitle=review_subtitle(review))
