"""The dashboards' sections: each calls one metric on the request's facts and turns its result
into what the template prints (texts, links) and the chart that pictures it. No number is
computed here; the charts print the metrics' own values."""

from __future__ import annotations

import datetime as dt

from django.utils.safestring import mark_safe

from refloop.analytics import charts
from refloop.analytics.charts.layout import number_text, percent_text
from refloop.analytics.cohorts import Drill, cohort_select
from refloop.analytics.metrics.access import access
from refloop.analytics.metrics.bottlenecks import AGE_BUCKETS, bottlenecks
from refloop.analytics.metrics.communication import communication
from refloop.analytics.metrics.cycle import cycle_times, cycle_times_by, hours
from refloop.analytics.metrics.funnel import funnel
from refloop.analytics.metrics.headline import REPORT_WITHIN_DAYS, headline
from refloop.analytics.metrics.leakage import leakage
from refloop.analytics.metrics.loop_closure import loop_closed_within, loop_closure_cms50
from refloop.analytics.metrics.referrers import SEGMENTS, month_drill
from refloop.analytics.metrics.referrers import referrers as referrer_report
from refloop.analytics.scope import Scope, month_before

TREND_MONTHS = 12


def svg(scene: charts.Scene) -> str:
    return mark_safe(scene.svg())  # the scene escapes every text it writes


def url(link, target) -> str | None:
    return link(target) if (link and target) else None


def value_text(value, unit: str) -> str:
    if unit == "share":
        return percent_text(value)
    if unit == "days":
        return "–" if value is None else f"{number_text(value)} days"
    return "–" if value is None else f"{value:,.0f}"


# Headline -------------------------------------------------------------------------------------


def headline_part(facts, scope: Scope, *, previous: Scope, link) -> list[dict]:
    result = headline(facts, scope, previous=previous, targets={})
    return [
        {
            "number": n,
            "value": value_text(n.this_month, n.unit),
            "last": value_text(n.last_month, n.unit),
            "target": value_text(n.target, n.unit) if n.target is not None else "",
            "url": url(link, n.drill),
        }
        for n in result.numbers
    ]


# Funnel ---------------------------------------------------------------------------------------


def funnel_part(facts, scope: Scope, *, link) -> dict:
    result = funnel(facts, scope)
    scene = charts.funnel_chart(result, link=link, key="funnel")
    return {
        "result": result,
        "svg": svg(scene),
        "steps": [
            {
                "step": s,
                "url": url(link, s.drill),
                "from_previous": "" if s.from_previous is None else percent_text(s.from_previous),
                "of_received": percent_text(s.of_received),
            }
            for s in result.steps
        ],
        "outcomes": [
            {"outcome": o, "url": url(link, o.drill), "share": percent_text(o.of_received)}
            for o in result.outcomes
        ],
    }


# Cycle times ----------------------------------------------------------------------------------


# Steps that run over the same span as their target, so the target can be drawn on them (first
# contact's target runs from acceptance, the appointment's in calendar days: not these steps').
TARGET_ON_STEP = {"acknowledged": "acknowledge", "decided": "triage", "report_sent": "report"}


def cycle_part(facts, scope: Scope, *, link, chosen: str, targets: dict[str, float]) -> dict:
    """Every step's net median and p90 (business hours) as bullets, and the distribution of one
    step (the chosen one, else triage decision) as a histogram of the same referrals. `targets`
    (hours by target kind) are the line's for one priority: drawn only when one applies."""
    result = cycle_times(facts, scope)
    names = [s.step for s in result.steps]
    chosen = chosen if chosen in names else "decided"
    rows = [
        charts.CycleRow(
            label=s.label,
            median=hours(s.net_median),
            p90=hours(s.net_p90),
            target=targets.get(TARGET_ON_STEP.get(s.step, "")),
            within_target=s.met_share if s.target else None,
            count=s.count,
            drill=s.missed_drill or s.drill,
        )
        for s in result.steps
    ]
    step = result.step(chosen)
    durations = cohort_select(facts, scope, step.drill).get_column(f"{chosen}_net")
    distribution = charts.Distribution(
        label=f"{step.label} (net, business hours)",
        values=(durations.drop_nulls() / 3600).to_list(),
        median=hours(step.net_median),
        p90=hours(step.net_p90),
        target=targets.get(TARGET_ON_STEP.get(chosen, "")),
        within_target=step.met_share if step.target else None,
        drill=step.drill,
    )
    return {
        "result": result,
        "summary_svg": svg(charts.cycle_summary_chart(rows, link=link, key="cycles")),
        "histogram_svg": svg(charts.cycle_chart(distribution, link=link, key="cycle-step")),
        "chosen": step,
        "rows": [
            {
                "step": s,
                "gross": _times(s.gross_median, s.gross_p90),
                "net": _times(s.net_median, s.net_p90),
                "met": percent_text(s.met_share) if s.target else "",
                "url": url(link, s.drill),
                "missed_url": url(link, s.missed_drill),
            }
            for s in result.steps
        ],
    }


def _times(median, p90) -> str:
    return f"{number_text(hours(median))} / {number_text(hours(p90))} h"


# Trend ----------------------------------------------------------------------------------------


def trend_months(scope: Scope) -> list[dt.date]:
    months = [scope.start]
    while len(months) < TREND_MONTHS:
        months.insert(0, month_before(months[0]))
    return months


def _monthly_funnel(facts, scope: Scope, start: dt.date, end: dt.date) -> dict:
    window = scope.shifted(start=start, end=end)
    return {g.key["month"]: g.funnel for g in cycle_times_by(facts, window, by=("month",))}


def trend_part(facts, scope: Scope, *, link) -> dict:
    """Referrals received and seen per month, the 12 months up to the chosen one, and received
    the year before (dashed, when there was any). Received per month links to that month's
    referrals; seen is judged as of the chosen month's end."""
    months = trend_months(scope)
    groups = _monthly_funnel(facts, scope, months[0], scope.end)
    received = [groups.get(m, {}).get("received", 0) for m in months]
    seen = [groups.get(m, {}).get("seen", 0) for m in months]
    drills = [(Drill("funnel.step", "received"), m) for m in months]
    series = [charts.Series("Received", received, drills), charts.Series("Seen", seen)]
    earlier = [m.replace(year=m.year - 1) for m in months]
    before = _monthly_funnel(facts, scope, earlier[0], months[0])
    if before:
        counts = [before.get(m, {}).get("received", 0) for m in earlier]
        series.append(charts.Series("Received a year before", counts, comparison=True))
    scene = charts.trend_chart(
        months,
        series,
        title="Referrals per month",
        link=link,
        key="trend",
    )
    return {"svg": svg(scene), "months": months, "received": received, "seen": seen}


# Communication and loop closure ---------------------------------------------------------------


def communication_part(facts, scope: Scope, *, link, whole_program: bool) -> dict:
    """What referrers send us and what we send back, and whether the loop closed. CMS50 is a
    calendar-year measure of the whole program: it is shown only when no filter is set."""
    c = communication(facts, scope)
    within = loop_closed_within(facts, scope, days=REPORT_WITHIN_DAYS)
    lines = [
        ("Complete on arrival", percent_text(c.complete_on_arrival_share),
         f"of {c.known_on_arrival} where it is known", None),
        ("Arrived with records missing", f"{c.missing_records}",
         percent_text(c.missing_records_rate), c.missing_drill),
        ("Records still missing", f"{c.still_missing}", "", c.still_missing_drill),
        ("Median days to complete the records", number_text(c.median_days_to_complete),
         f"{c.records_completed} completed", None),
        ("Referrer acknowledged within target", percent_text(c.acknowledged_within_target),
         f"{c.acknowledged_judged - c.acknowledged_met} missed", c.acknowledged_missed_drill),
        ("Reports sent", f"{c.reports_sent}",
         f"median {number_text(hours(c.report_net_median))} h after the visit",
         c.reports_sent_drill),
        ("Report sent within target", percent_text(c.report_within_target),
         f"{c.report_judged - c.report_met} missed", c.report_missed_drill),
        (within.label, percent_text(within.rate),
         f"{within.judged - within.delivered_within} not delivered, {within.pending} too recent",
         within.drill),
    ]  # fmt: skip
    cms50 = None
    if whole_program:
        year = scope.start.year
        cms50 = loop_closure_cms50(facts, year=year, tz=scope.tz, as_of=scope.as_of)
        lines.append(
            (cms50.label, percent_text(cms50.rate),
             f"{cms50.numerator} of {cms50.denominator} patients' first referrals",
             cms50.drill)
        )  # fmt: skip
    return {
        "lines": [
            {"label": label, "value": value, "note": note, "url": url(link, drill)}
            for label, value, note, drill in lines
        ],
        "cms50": cms50,
    }


# Access and leakage ---------------------------------------------------------------------------


def access_part(facts, scope: Scope, *, appointments, tna, link) -> dict:
    """Days to appointment per line and visit type, third next available, no-show rates (with
    their Wilson 95% intervals). A line not booked on Refloop's calendar says "not measured"."""
    report = access(facts, scope, appointments=appointments, tna=tna)
    shows = report.no_shows
    rates = [shows.overall, *shows.by_lead_time, *shows.by_prior_no_shows] if shows.overall else []
    return {
        "report": report,
        "waits": [
            {
                "wait": w,
                "median": number_text(w.median_days),
                "p90": number_text(w.p90_days),
                "url": url(link, w.drill),
            }
            for w in _distinct_waits(report.waits)
        ],
        "tna": [
            {"tna": t, "latest": number_text(t.mean_days), "mean": number_text(t.period_mean_days)}
            for t in report.tna
        ],
        "no_shows": [
            {
                "rate": r,
                "kind": _rate_kind(n, len(shows.by_lead_time)),
                "value": percent_text(r.rate.estimate),
                "interval": _interval(r.rate),
                "url": url(link, r.drill) if r.no_shows else None,
            }
            for n, r in enumerate(rates)
        ],
    }


def _distinct_waits(waits) -> list:
    """A line whose referrals carry no visit type comes back twice (the line, and its one
    untyped visit type, with the same figures): show it once."""
    seen, out = set(), []
    for wait in waits:
        if (wait.service_line, wait.visit_type) not in seen:
            seen.add((wait.service_line, wait.visit_type))
            out.append(wait)
    return out


def _rate_kind(n: int, leads: int) -> str:
    if n == 0:
        return "All visits due"
    return "Lead time, days" if n <= leads else "Prior no-shows"


def _interval(interval) -> str:
    if interval.low is None:
        return ""
    return f"{percent_text(interval.low)}–{percent_text(interval.high)}"


def leakage_part(facts, scope: Scope, *, link, outbound=None) -> dict:
    """Never completed (from our referrals) and outside the network (from the outbound orders
    imported with `manage.py refloop_outbound`; "not measured" without them): two numbers,
    never added."""
    result = leakage(facts, scope, outbound)
    return {
        "result": result,
        "rate": percent_text(result.never_completed_rate),
        "url": url(link, result.drill),
        "parts": [{"part": p, "url": url(link, p.drill)} for p in result.parts],
    }


# Bottlenecks ----------------------------------------------------------------------------------

COSTLY_LEGS_SHOWN = 3  # per service line


def bottlenecks_part(facts, scope: Scope, *, link) -> dict:
    """Open referrals by age and state (ageing), where the cohort's time went (time in states
    and blockers), and each service line's costliest legs."""
    result = bottlenecks(facts, scope)
    stacks = [charts.Stack(row.label, row.counts, row.drills) for row in result.ageing]
    buckets = [f"{label} days" for label in result.buckets]
    scene = charts.ageing_chart(buckets, stacks, link=link, key="ageing")
    return {
        "result": result,
        "svg": svg(scene),
        "time_in": [
            {
                "item": t,
                "median": number_text(hours(t.median_seconds)),
                "total": number_text(hours(t.total_seconds)),
                "url": url(link, t.drill),
            }
            for t in result.time_in
            if t.referrals
        ],
        "legs": [
            {"leg": leg, "median": number_text(hours(leg.net_median)), "url": url(link, leg.drill)}
            for leg in result.costly_legs
            if leg.rank <= COSTLY_LEGS_SHOWN
        ],
    }


# Referrers ------------------------------------------------------------------------------------


def referrers_part(facts, scope: Scope, *, link, panels: int) -> dict:
    """The referrers' report: segments, drop-off alerts, small multiples of the `panels` largest
    referrers (and of every alerted one), and one row per referrer (largest first)."""
    report = referrer_report(facts, scope)
    alerted = {a.key for a in report.alerts}
    shown = list(report.referrers[:panels])
    shown += [r for r in report.referrers if r.key in alerted and r not in shown]
    pictured = [
        charts.Panel(
            label=r.name or r.key,
            values=[m.count for m in r.monthly],
            note=r.segment,
            alert=r.key in alerted,
            drill=month_drill(r.key, report.months[-1]),  # the number printed: the last month's
        )
        for r in shown
    ]
    scene = charts.multiples_chart(report.months, pictured, link=link, key="referrers")
    return {
        "report": report,
        "svg": svg(scene),
        "pictured": len(pictured),
        "segments": [s for s in report.segments if s.segment in SEGMENTS],
        "alerts": [{"alert": a, "url": url(link, a.drill)} for a in report.alerts],
        "rows": [
            {
                "referrer": r,
                "url": url(link, r.drill),
                "months": [(m.count, url(link, month_drill(r.key, m.month))) for m in r.monthly],
                "conversion": percent_text(r.conversion.estimate),
                "interval": (
                    f"{percent_text(r.conversion.low)}–{percent_text(r.conversion.high)}"
                    if r.conversion.low is not None
                    else ""
                ),
                "change": percent_text(r.recent_change) if r.recent_change is not None else "–",
                "trend": _trend_text(r.monthly_change, r.trend_p),
            }
            for r in report.referrers
        ],
    }


def _trend_text(change: float | None, p: float | None) -> str:
    """The fitted change per month, with its p-value (the trend test of metrics.referrers)."""
    if change is None:
        return "–"
    sign = "+" if change > 0 else ""
    return f"{sign}{percent_text(change)}/month" + (f" (p {p:.2f})" if p is not None else "")


# Drill-down -----------------------------------------------------------------------------------

COHORT_TITLES = {
    "received": "Referrals received",
    "funnel.step": "Funnel: reached {arg}",
    "funnel.outcome": "Funnel: where they went ({arg})",
    "cycle.step": "Cycle time: finished {arg}",
    "cycle.missed": "Target missed: {arg}",
    "bottlenecks.time_in": "Time spent in {arg}",
    "bottlenecks.ageing": "Open referrals by age: {arg}",
    "bottlenecks.leg": "A service line's leg: {arg}",
    "loop.not_within": "Report not delivered within {arg} days",
    "communication.missing_records": "Arrived with records missing",
    "access.waits": "Booked visits behind a wait ({arg})",
    "access.no_shows": "Missed visits ({arg})",
    "leakage.never_completed": "Never completed ({arg})",
    "loop.cms50": "Loop closure (CMS50, {arg}): first referrals",
    "referrers.referrals": "A referrer's referrals",
    "referrers.month": "A referrer's referrals in one month",
}


def cohort_title(drill: Drill) -> str:
    arg = drill.arg.replace("_", " ").replace("|", ", ")
    if drill.cohort == "funnel.outcome":  # "kind:reason:stale_after"
        kind, reason, _ = (drill.arg.split(":") + ["", ""])[:3]
        arg = ", ".join(p.replace("_", " ") for p in (kind, reason) if p)
    elif drill.cohort == "loop.cms50":  # "year:all|open:referrer key"
        year, which, _ = (drill.arg.split(":") + ["", ""])[:3]
        arg = f"{year}, {'not closed' if which == 'open' else 'all'}"
    elif drill.cohort == "bottlenecks.ageing":  # "state:bucket index"
        state, _, bucket = drill.arg.partition(":")
        labels = [label for label, _, _ in AGE_BUCKETS]
        index = int(bucket) if bucket.isdigit() and int(bucket) < len(labels) else None
        arg = f"{state.replace('_', ' ')}, {labels[index] if index is not None else '?'} days"
    template = COHORT_TITLES.get(drill.cohort, drill.cohort + " {arg}")
    if drill.cohort.startswith("referrers."):
        return template  # the key is a referrer's identifier: say nothing more in the title
    return template.format(arg=arg)
