"""The dashboards: who sees what, filters that change the numbers, and the referrals behind a
number (only for people who may see them, written to the access log, paged with a fixed number
of queries)."""

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from lxml import html

from refloop.access.services import appointment_book, appointment_record_outcome
from refloop.core.models import AccessLogEntry
from refloop.directory.enums import Priority
from refloop.referrals.enums import Channel
from refloop.web.forms_dashboards import last_full_month, practice_tz
from refloop.web.views.dashboards import DRILL_PAGE_SIZE, REFERRER_PAGE_SIZE
from tests import factories
from tests.access.conftest import accepted
from tests.loop.conftest import to_completed
from tests.web.dashboard_helpers import facts_current
from tests.web.helpers import sign_in

DRILL_PARAMS = {"cohort", "arg", "month", "line", "priority", "channel", "practice", "page"}


def in_month(first: dt.date, day: int = 10, hour: int = 11) -> dt.datetime:
    return dt.datetime.combine(first.replace(day=day), dt.time(hour), practice_tz())


def this_month(*offsets: dt.timedelta) -> list[dt.datetime]:
    """Moments `offsets` before now, in the same order, but all in this local month: the
    dashboard's month is today's, and a run early on the 1st would put "two hours ago" in last
    month. Then the offsets shrink in proportion to fit between the month's start and now."""
    now = timezone.now()
    first = timezone.localtime(now, practice_tz()).date().replace(day=1)
    elapsed = now - dt.datetime.combine(first, dt.time.min, practice_tz())
    scale = min(1.0, elapsed / max(offsets))
    return [now - offset * scale for offset in offsets]


@pytest.fixture
def cardiology(db):
    return factories.service_line(code="cardiology", name="Cardiology")


@pytest.fixture
def program(line, cardiology, intake):
    """Last full month: two orthopedic referrals (one urgent, by phone) and one cardiology one
    from another practice; this month one more. Then the facts are brought up to date."""
    last = last_full_month()
    doctor, other = factories.referrer(), factories.referrer()
    made = {
        "ortho_routine": factories.referral(
            line=line, clinician=doctor, actor=intake, received_at=in_month(last, 3)
        ),
        "ortho_urgent": factories.referral(
            line=line,
            clinician=doctor,
            actor=intake,
            received_at=in_month(last, 12),
            priority=Priority.URGENT,
            channel=Channel.PHONE,
        ),
        "cardio": factories.referral(
            line=cardiology, clinician=other, actor=intake, received_at=in_month(last, 20)
        ),
        "this_month": factories.referral(
            line=line,
            clinician=doctor,
            actor=intake,
            received_at=this_month(dt.timedelta(minutes=5))[0],
        ),
    }
    facts_current()
    return made


def received(response) -> int:
    return response.context["funnel"]["result"].received


def drill_links(page: str) -> list[str]:
    return [a for a in html.fromstring(page).xpath("//a/@href") if "/dashboards/drill/" in a]


def test_it_shows_a_manager_the_programs_last_full_month(client, program, manager):
    sign_in(client, manager)

    response = client.get(reverse("dashboards"))

    assert response.status_code == 200
    assert received(response) == 3  # the month before this one; this month's referral is not in
    assert response.context["scope"].start == last_full_month()
    page = response.content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in page
    assert "Referral funnel" in page
    assert len(drill_links(page)) > 5


def test_it_changes_the_numbers_with_the_filters(client, program, manager):
    sign_in(client, manager)
    url = reverse("dashboards")
    practice = program["cardio"].referring_organization.name

    by_line = client.get(url, {"line": "cardiology"})
    by_priority = client.get(url, {"priority": "urgent"})
    by_channel = client.get(url, {"channel": "phone"})
    by_practice = client.get(url, {"practice": practice})
    this_month = client.get(url, {"month": f"{dt.date.today():%Y-%m}"})
    line_page = client.get(reverse("dashboard_line", args=["orthopedics"]))

    assert received(by_line) == 1
    assert received(by_priority) == 1
    assert received(by_channel) == 1
    assert received(by_practice) == 1
    assert received(this_month) == 1
    assert received(line_page) == 2
    assert line_page.context["line"].code == "orthopedics"
    whole = html.fromstring(line_page.content).xpath("//a[text()='Whole program']/@href")
    assert received(client.get(whole[0])) == 3  # the tab leaves the line behind


def test_it_lists_exactly_the_referrals_behind_a_number(client, program, manager):
    sign_in(client, manager)
    dashboard = client.get(reverse("dashboards"), {"line": "orthopedics"})
    step = dashboard.context["funnel"]["steps"][0]

    response = client.get(step["url"])

    assert step["step"].name == "received" and step["step"].count == 2
    assert response.status_code == 200
    assert response.context["total"] == 2
    listed = {r.pk for r in response.context["referrals"]}
    assert listed == {program["ortho_routine"].pk, program["ortho_urgent"].pk}
    page = response.content.decode()
    assert program["ortho_urgent"].number in page
    assert program["cardio"].number not in page


def test_it_writes_each_listed_referral_to_the_access_log(client, program, manager):
    sign_in(client, manager)
    step = client.get(reverse("dashboards")).context["funnel"]["steps"][0]

    client.get(step["url"])

    entries = AccessLogEntry.objects.filter(username="manager", object_type="referral")
    assert {(e.object_id, e.patient_id, e.action) for e in entries} == {
        (str(r.pk), r.patient_id, AccessLogEntry.Action.LIST)
        for key, r in program.items()
        if key != "this_month"
    }
    assert all(e.path == "/dashboards/drill/" for e in entries)  # no query string, no PHI


def test_it_keeps_patients_out_of_the_links(client, program, manager):
    sign_in(client, manager)

    page = client.get(reverse("dashboards")).content.decode()

    for link in drill_links(page):
        assert set(parse_qs(urlsplit(link).query)) <= DRILL_PARAMS
        assert "Testpatient" not in link and "Alex" not in link


def test_it_links_a_trend_month_to_that_months_referrals(client, program, manager):
    sign_in(client, manager)
    this_month = f"{dt.date.today():%Y-%m}"
    page = client.get(reverse("dashboards"), {"month": this_month}).content.decode()
    months = [
        link
        for link in drill_links(page)
        if "arg=received" in link and f"month={last_full_month():%Y-%m}" in link
    ]

    response = client.get(months[0].replace("&amp;", "&"))

    assert response.context["total"] == 3


def test_it_pages_the_drill_down_with_the_same_queries(client, line, manager, intake):
    month = last_full_month()
    factories.referral(line=line, actor=intake, received_at=in_month(month, 2))
    facts_current()
    sign_in(client, manager)
    url = reverse("dashboard_drill")
    query = {"cohort": "received", "month": f"{month:%Y-%m}"}
    client.get(url, query)
    with CaptureQueriesContext(connection) as one:
        client.get(url, query)
    for n in range(DRILL_PAGE_SIZE + 1):
        factories.referral(line=line, actor=intake, received_at=in_month(month, 3 + n % 20))
    facts_current()

    with CaptureQueriesContext(connection) as many:
        response = client.get(url, query)

    assert response.context["total"] == DRILL_PAGE_SIZE + 2
    assert len(response.context["referrals"]) == DRILL_PAGE_SIZE
    assert len(many) == len(one)


def test_it_reads_the_facts_once_and_few_queries_for_the_dashboard(
    client, program, manager, django_assert_max_num_queries
):
    sign_in(client, manager)
    client.get(reverse("dashboards"))

    # Signing in and the top bar (session, user, device, permissions x2, roles, alerts, the
    # session saved in a savepoint: 3), the service lines, the facts (one query), the period's
    # appointments (two), third-next-available (one) and the outbound orders (one), and nothing
    # per referral or number.
    with django_assert_max_num_queries(16):
        response = client.get(reverse("dashboards"))

    assert response.status_code == 200


def test_it_pages_the_referrers_with_the_same_queries(client, line, liaison, intake):
    month = last_full_month()
    factories.referral(line=line, actor=intake, received_at=in_month(month, 2))
    facts_current()
    sign_in(client, liaison)
    url = reverse("dashboard_referrers")
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for n in range(REFERRER_PAGE_SIZE + 1):
        factories.referral(
            line=line,
            clinician=factories.referrer(),
            actor=intake,
            received_at=in_month(month, 3 + n % 20),
        )
    facts_current()

    with CaptureQueriesContext(connection) as many:
        response = client.get(url)

    assert response.context["page"].paginator.count >= REFERRER_PAGE_SIZE + 1
    assert len(response.context["page"].object_list) == REFERRER_PAGE_SIZE
    assert len(many) == len(one)


def test_it_gives_a_liaison_referrer_counts_and_never_a_referral(client, program, liaison):
    sign_in(client, liaison)

    dashboard = client.get(reverse("dashboards"), {"line": "cardiology"})
    line_page = client.get(reverse("dashboard_line", args=["cardiology"]))
    response = client.get(reverse("dashboard_referrers"))
    drill = client.get(reverse("dashboard_drill"), {"cohort": "received"})

    assert dashboard.status_code == 302
    assert dashboard["Location"] == reverse("dashboard_referrers") + "?line=cardiology"
    assert line_page.status_code == 302
    assert response.status_code == 200
    assert drill.status_code == 403
    rows = {r["referrer"].key: r["referrer"].total for r in response.context["referrers"]["rows"]}
    doctor = program["ortho_routine"].referring_clinician
    assert rows[doctor.npi] == 2  # the 12 months up to last month: not this month's referral
    page = response.content.decode()
    assert drill_links(page) == []
    assert "Testpatient" not in page
    assert not re.search(r"R-\d{7}", page)
    assert not AccessLogEntry.objects.filter(username="liaison").exists()


def test_it_lets_a_manager_drill_from_a_referrer(client, program, manager):
    sign_in(client, manager)
    doctor = program["ortho_routine"].referring_clinician
    report = client.get(reverse("dashboard_referrers")).context["referrers"]
    row = next(r for r in report["rows"] if r["referrer"].key == doctor.npi)

    response = client.get(row["url"])
    last_month_count, last_month_url = row["months"][-1]

    assert response.context["total"] == row["referrer"].total == 2
    assert client.get(last_month_url).context["total"] == last_month_count == 2


def test_it_refuses_the_dashboards_to_roles_without_the_programs_numbers(client, program, intake):
    sign_in(client, intake)

    assert client.get(reverse("dashboards")).status_code == 403
    assert client.get(reverse("dashboard_drill"), {"cohort": "received"}).status_code == 403


def test_it_titles_the_cms50_drill_down_without_the_referrers_key():
    from refloop.analytics.cohorts import Drill
    from refloop.web.views.dashboard_parts import cohort_title

    title = cohort_title(Drill("loop.cms50", "2026:open:1234567893"))

    assert title == "Loop closure (CMS50, 2026, not closed): first referrals"


def test_it_answers_404_for_an_unknown_group(client, program, manager):
    sign_in(client, manager)

    assert client.get(reverse("dashboard_drill"), {"cohort": "nope"}).status_code == 404
    for cohort, arg in [
        ("funnel.step", "nope"),
        ("cycle.missed", "nope"),
        ("funnel.outcome", "x"),
        ("bottlenecks.leg", "Cardiology|nope"),
        ("referrers.month", "1234|9999-12"),
    ]:
        response = client.get(reverse("dashboard_drill"), {"cohort": cohort, "arg": arg})
        assert response.status_code == 404, cohort
    assert client.get(reverse("dashboard_line", args=["nope"])).status_code == 404


def test_it_drills_from_a_service_line_page_within_that_line(client, program, manager):
    sign_in(client, manager)
    page = client.get(reverse("dashboard_line", args=["orthopedics"]))
    step = page.context["funnel"]["steps"][0]

    response = client.get(step["url"])

    assert "line=orthopedics" in step["url"]
    assert response.context["total"] == step["step"].count == 2


def test_it_keeps_compliance_reviewers_to_counts_too(client, program, compliance):
    sign_in(client, compliance)

    assert client.get(reverse("dashboards")).status_code == 302
    assert client.get(reverse("dashboard_referrers")).status_code == 200
    assert client.get(reverse("dashboard_drill"), {"cohort": "received"}).status_code == 403


def test_it_says_when_a_month_cannot_be_read_and_shows_the_last_full_one(client, program, manager):
    sign_in(client, manager)

    response = client.get(reverse("dashboards"), {"month": "March"})

    assert response.status_code == 200
    assert response.context["form"].errors["month"] == ["Pick a month (YYYY-MM)."]
    assert response.context["scope"].start == last_full_month()
    assert received(response) == 3


@pytest.mark.parametrize("month", ["0001-01", "9999-12"])
def test_it_shows_the_last_full_month_for_a_month_out_of_range(client, program, manager, month):
    sign_in(client, manager)
    drill = {"cohort": "received", "month": month}

    pages = [
        client.get(reverse("dashboards"), {"month": month}),
        client.get(reverse("dashboard_referrers"), {"month": month}),
        client.get(reverse("dashboard_drill"), drill),
    ]

    assert [page.status_code for page in pages] == [200, 200, 200]
    assert pages[0].context["form"].errors["month"] == ["Pick a month (YYYY-MM)."]
    assert all(page.context["scope"].start == last_full_month() for page in pages)


def test_it_links_the_monthly_review_of_the_chosen_month(client, program, manager):
    sign_in(client, manager)
    month = f"{last_full_month():%Y-%m}"

    page = client.get(reverse("dashboards"), {"month": month}).content.decode()

    assert f'href="{reverse("monthly_review")}?month={month}"' in page


def test_it_lists_the_referrals_behind_every_number_on_the_dashboard(
    client, program, manager, line, intake, triage
):
    """Whatever number a manager clicks, the list has as many referrals as the number said.
    This month: the fixture's referral, one accepted, one seen (transitions happen now)."""
    accepted(line, intake=intake, triage=triage)
    received_at, seen_at = this_month(dt.timedelta(minutes=40), dt.timedelta(minutes=30))
    seen = factories.referral(line=line, actor=intake, received_at=received_at)
    to_completed(seen, manager, appointment_at=seen_at)
    facts_current()
    sign_in(client, manager)
    response = client.get(reverse("dashboards"), {"month": f"{dt.date.today():%Y-%m}"})
    counts = {s["step"].name: s["step"].count for s in response.context["funnel"]["steps"]}
    assert counts["received"] == 3 and counts["accepted"] == 2 and counts["seen"] == 1
    numbers = [(s["step"].count, s["url"]) for s in response.context["funnel"]["steps"]]
    numbers += [(o["outcome"].count, o["url"]) for o in response.context["funnel"]["outcomes"]]
    numbers += [(r["step"].count, r["url"]) for r in response.context["cycle"]["rows"]]
    numbers += [(w["wait"].appointments, w["url"]) for w in response.context["access"]["waits"]]
    leaks = response.context["leakage"]
    numbers += [(leaks["result"].never_completed, leaks["url"])]
    numbers += [(p["part"].count, p["url"]) for p in leaks["parts"]]

    for count, link in numbers:
        assert client.get(link).context["total"] == count, link
    for line in response.context["communication"]["lines"]:
        if line["url"]:
            assert client.get(line["url"]).status_code == 200, line["label"]
    assert len(numbers) >= 15
    assert response.context["access"]["waits"][0]["wait"].appointments == 1  # the one seen


def test_it_lists_the_referral_behind_a_missed_visit(
    client, manager, line, intake, triage, scheduler
):
    """A visit booked an hour and a half ago and missed: the no-show rate is 1 of 1, and its
    number lists that referral (read from the appointments, which the facts do not hold)."""
    received_at, starts_at = this_month(dt.timedelta(hours=2), dt.timedelta(minutes=90))
    missed = accepted(line, intake=intake, triage=triage, received_at=received_at)
    appointment_book(referral_id=missed.pk, starts_at=starts_at, actor=scheduler)
    appointment_record_outcome(referral_id=missed.pk, outcome="no_show", actor=scheduler)
    facts_current()
    sign_in(client, manager)
    response = client.get(reverse("dashboards"), {"month": f"{dt.date.today():%Y-%m}"})
    overall = response.context["access"]["no_shows"][0]

    listed = client.get(overall["url"])

    assert (overall["rate"].visits, overall["rate"].no_shows, overall["value"]) == (1, 1, "100%")
    assert [r.pk for r in listed.context["referrals"]] == [missed.pk]


def test_it_draws_the_target_when_one_line_and_priority_are_chosen(client, program, manager):
    sign_in(client, manager)
    url = reverse("dashboard_line", args=["orthopedics"])

    routine = client.get(url, {"priority": "routine"}).content.decode()
    every_priority = client.get(url).content.decode()

    # factories.DEFAULT_TARGETS: triage 16 business hours for routine referrals
    assert "target 16 h" in routine
    assert "target 16 h" not in every_priority


def test_it_compares_the_trend_with_the_year_before(client, program, manager, line, intake):
    last = last_full_month()
    year_before = last.replace(year=last.year - 1)
    factories.referral(line=line, actor=intake, received_at=in_month(year_before, 15))
    facts_current()
    sign_in(client, manager)

    page = client.get(reverse("dashboards")).content.decode()
    desc = html.fromstring(page).xpath("//svg[@id='trend']/desc")[0].text_content()

    # Received: last month 3 (the fixture); the year before: 1 in the same month a year earlier.
    assert "Received: " in desc and f"{last:%b %y} 3" in desc
    assert "Received a year before: " in desc
    assert desc.split("Received a year before: ")[1].split(";")[0].endswith(f"{last:%b %y} 1")


def test_it_shows_an_empty_program_without_failing(client, line, manager, liaison):
    facts_current()
    sign_in(client, manager)

    dashboard = client.get(reverse("dashboards"))
    line_page = client.get(reverse("dashboard_line", args=[line.code]), {"priority": "stat"})
    referrers = client.get(reverse("dashboard_referrers"))
    sign_in(client, liaison)
    liaison_page = client.get(reverse("dashboard_referrers"))

    assert [r.status_code for r in (dashboard, line_page, referrers, liaison_page)] == [200] * 4
    assert received(dashboard) == 0
    assert "No referrals received in this month." in dashboard.content.decode()
