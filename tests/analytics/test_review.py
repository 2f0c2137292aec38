"""The monthly review of a hand-built month: the numbers, in the HTML and in the PDF's text."""

import datetime as dt
import io

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.urls import reverse
from pypdf import PdfReader

from refloop.analytics.audit.program import program_load
from refloop.analytics.metrics.pilot import pilot_parse
from refloop.analytics.review import (
    review_build,
    review_facts,
    review_html,
    review_pdf,
    review_window,
)
from refloop.directory.models import ServiceLine
from tests.analytics.factories import NEW_YORK, at, facts

OCTOBER = dt.date(2026, 10, 1)


def _seen(received, booked, appointment, days, **more):
    return {
        "received_at": received,
        "decision": "accepted",
        "accepted_at": received,
        "decided_at": received,
        "booked_at": booked,
        "appointment_at": appointment,
        "seen_at": appointment,
        "days_to_appointment": days,
        "state": "completed",
        **more,
    }


def _fading_referrer():
    """Dr Fading sent 3 a month from November 2025 to August 2026 and none since."""
    rows = []
    for month in range(10):
        first = dt.date(2025, 11, 1) + dt.timedelta(days=31 * month)
        for day in (3, 10, 17):
            rows.append(
                {
                    "received_at": f"{first:%Y-%m}-{day:02d} 10:00",
                    "referrer_key": "1999999999",
                    "referrer_name": "Dr Fading",
                    "practice": "Elm Clinic",
                }
            )
    return rows


def month_facts():
    return facts(
        # October 2026: four referrals.
        _seen(
            "2026-10-05 09:00", "2026-10-07 09:00", "2026-10-15 09:00", 10.0,
            acknowledged_at="2026-10-05 10:00", acknowledged_gross=3600,
            acknowledged_net=3600, acknowledge_met=True,
            report_sent_at="2026-10-16 10:00", report_sent_gross=32400, report_sent_net=32400,
            report_met=True, state="closed",
        ),
        _seen(
            "2026-10-12 09:00", "2026-10-13 09:00", "2026-10-20 09:00", 8.0,
            acknowledged_at="2026-10-14 09:00", acknowledged_gross=64800,
            acknowledged_net=64800, acknowledge_met=False,
        ),
        {"received_at": "2026-10-20 09:00", "decided_at": "2026-10-21 09:00",
         "ended_at": "2026-10-21 09:00", "decision": "declined", "state": "declined",
         "outcome_reason": "not_indicated", "last_activity_at": "2026-10-21 09:00",
         # Declined after 9 business hours, never acknowledged: the 8-hour target was missed.
         "acknowledge_met": False},
        {"received_at": "2026-10-28 09:00", "last_activity_at": "2026-10-28 09:00"},
        # September 2026: two, both seen.
        _seen("2026-09-10 09:00", "2026-09-11 09:00", "2026-09-25 09:00", 15.0),
        _seen("2026-09-15 09:00", "2026-09-16 09:00", "2026-09-25 09:00", 10.0),
        *_fading_referrer(),
    )  # fmt: skip


GOALS = {"conversion": 0.6, "acknowledged_within_target": 0.9}


def _review():
    return review_build(
        month_facts(), month=OCTOBER, targets=GOALS, tz=NEW_YORK, organization="Riverside"
    )


def test_it_shows_the_months_headline_against_last_month_and_target():
    review = _review()
    # Received in October: 4 (September: 2). Seen: 2 of them (September: 2 of 2).
    # Conversion: 2 / 4 = 50% (September 100%: -50 points; the goal 60% is not met).
    # Median days to appointment of the booked: (10 + 8) / 2 = 9.0 (September (15 + 10) / 2).
    # Acknowledged within target: judged 3 (two acknowledged, one declined too late), met 1.
    # Report sent within target: judged 1 (the other has no report yet), met 1 = 100%.
    # Report delivered within 14 days: the 10-15 visit's 14 days are over by November 1 and
    # nothing was delivered (0 of 1); the 10-20 visit's run to November 3: pending.
    assert review.numbers == {
        "received": 4,
        "seen": 2,
        "conversion": 0.5,
        "days_to_appointment": 9.0,
        "acknowledged_within_target": 1 / 3,
        "report_within_target": 1.0,
        "report_delivered_within": 0.0,
    }
    rows = {row.cells[0]: row for row in review.table("headline").rows}
    assert rows["Referrals received"].cells[1:4] == ("4", "2", "+2")
    assert rows["Conversion (seen / received)"].cells[1:] == (
        "50%", "100%", "-50 pts", "60%", "off target",
    )  # fmt: skip
    assert rows["Conversion (seen / received)"].flag == "bad"
    assert rows["Median days to appointment"].cells[1:4] == ("9.0 days", "12.5 days", "-3.5")
    assert rows["Referrer acknowledged within target"].cells[1] == "33%"


def test_it_lists_where_referrals_went_and_the_referrers_to_call():
    review = _review()
    outcomes = {row.cells[0]: row.cells[1:] for row in review.table("outcomes").rows}
    assert outcomes == {
        "Seen": ("2", "50%"),
        "Declined: Not indicated": ("1", "25%"),
        "Still open": ("1", "25%"),
    }
    calls = review.table("calls").rows
    # 30 referrals in the 10 baseline months; none in September and October (expected 6).
    assert [row.cells[:2] for row in calls] == [("Dr Fading", "Elm Clinic")]
    assert calls[0].cells[2].startswith("0 (expected")
    # The only leg with a time: the 10-05 referral's visit to report, 9 business hours.
    assert [row.cells for row in review.table("bottlenecks").rows] == [
        ("Cardiology", "Visit to report sent", "1", "9.0 h")
    ]
    # Days to appointment of the two booked: 8 and 10; median 9.0, p90 8 + 0.9 x 2 = 9.8.
    # No third-next-available measurements were given: the line says so, it shows no number.
    assert [row.cells for row in review.table("access").rows] == [
        ("All service lines", "2", "9.0 days", "9.8 days", ""),
        ("Cardiology", "2", "9.0 days", "9.8 days", "not measured"),
    ]
    keys = [t.key for t in review.tables]
    assert keys == ["headline", "outcomes", "bottlenecks", "calls", "cycle", "access"]


def test_it_writes_the_same_numbers_in_html_and_pdf():
    review = _review()
    html = review_html(review)
    assert "<h1>Monthly review: October 2026</h1>" in html
    assert "<td>Conversion (seen / received)</td><td>50%</td><td>100%</td>" in html
    assert "<td>Dr Fading</td><td>Elm Clinic</td>" in html
    assert html.count("<svg") == len(review.figures) == 2
    pdf = review_pdf(review)
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert reader.metadata.title == "Monthly review: October 2026"
    assert "Referrals received\n4\n2\n+2" in text
    assert "Conversion (seen / received)\n50%\n100%\n-50 pts\n60%\noff target" in text
    assert "Referrer acknowledged within target\n33%" in text
    assert "Dr Fading\nElm Clinic" in text


def test_it_compares_a_pilot_with_its_baseline():
    from refloop.analytics.metrics.pilot import Pilot

    review = review_build(
        month_facts(),
        month=OCTOBER,
        targets=GOALS,
        tz=NEW_YORK,
        pilot=Pilot(starts=OCTOBER, service_lines=("Cardiology",)),
    )
    pilot = {row.cells[0]: row.cells[1:] for row in review.table("pilot").rows}
    # The pilot: October's 4 referrals, 2 seen. Its baseline: the 31 days before (September's
    # 2, both seen by October 1, when the baseline is observed; Dr Fading's last were in August).
    # 4 and 2 cases cannot tell 50% from 100%: the interval of the difference includes 0.
    seen = pilot["Seen (of referrals received)"]
    assert seen[:2] == ("50% (n=4)", "100% (n=2)")
    assert seen[2].startswith("-50 pts (")
    assert seen[3] == "not distinguishable from noise"
    assert "Pilot against its baseline" in review_html(review)
    assert "pilot" not in [t.key for t in _review().tables]  # none configured: no section


# In the app: the command, the button, the monthly e-mail ---------------------------------------


@pytest.fixture
def october(db):
    """Three referrals received in October 2026 (one of them seen), their facts built."""
    from refloop.analytics.sources import facts_rebuild_all
    from tests import factories

    line = factories.service_line()
    for day in (5, 12, 19):
        factories.referral(line=line, received_at=at(f"2026-10-{day:02d} 09:00"))
    facts_rebuild_all(now=NOW)


NOW = at("2026-11-02 10:00")


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_it_writes_and_emails_the_review_from_the_command(october, tmp_path, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    out = io.StringIO()
    call_command("refloop_review", "--month", "2026-10", "--out", str(tmp_path),
                 "--email", "ana@example.org, ben@example.org", stdout=out)  # fmt: skip
    assert "Referrals received: 3 (last month 0)" in out.getvalue()
    assert "Referrals received\n3\n0\n+3" in _pdf_text(
        (tmp_path / "review-2026-10.pdf").read_bytes()
    )
    assert "<td>Referrals received</td><td>3</td>" in (tmp_path / "review-2026-10.html").read_text()
    [message] = mail.outbox
    assert message.subject == "Monthly review: October 2026"  # the month only, no PHI
    assert message.bcc == ["ana@example.org", "ben@example.org"]
    assert "Referrals received: 3 (last month 0, +3)" in message.body
    names = [name for name, _, _ in message.attachments]
    # The charts as pictures (no step was finished yet: the funnel is the only chart).
    assert names == ["review-2026-10.pdf", "funnel-2026-10.png"]
    assert message.attachments[1][1].startswith(b"\x89PNG")
    # Aggregates only: no patient's name anywhere in what is sent.
    assert "Testpatient" not in message.body + _pdf_text(message.attachments[0][1])


def test_it_gives_managers_the_review_pdf_and_no_one_else(
    october, client, manager, liaison, intake
):
    from tests.web.helpers import sign_in

    url = reverse("monthly_review") + "?month=2026-10"
    for person in (liaison, intake):
        sign_in(client, person)
        assert client.get(url).status_code == 403
    sign_in(client, manager)
    response = client.get(url)
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="review-2026-10.pdf"' in response["Content-Disposition"]
    assert "Referrals received\n3" in _pdf_text(response.content)
    page = client.get(url + "&format=html")
    assert "<td>Referrals received</td><td>3</td>" in page.content.decode()
    assert client.get(reverse("monthly_review") + "?month=October").status_code == 404
    assert client.get(reverse("monthly_review") + "?month=0001-01").status_code == 404
    assert client.get(reverse("monthly_review") + "?month=9999-12").status_code == 404
    # The dashboard's button is how a manager gets there.
    assert (
        reverse("monthly_review") + "?month=" in client.get(reverse("dashboards")).content.decode()
    )


def test_it_emails_last_months_review_once_on_the_first(october, settings):
    from refloop.analytics.jobs_review import monthly_review_email

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.REFLOOP_REVIEW_RECIPIENTS = "ana@example.org"
    # Before 7:00 on the 1st (New York): not yet; from then, once, however many schedulers ask.
    assert monthly_review_email(at("2026-11-01 06:30")) == 0
    assert monthly_review_email(at("2026-11-01 07:05")) == 1
    assert monthly_review_email(at("2026-11-01 07:20")) == 0
    assert monthly_review_email(at("2026-11-03 09:00")) == 0
    [message] = mail.outbox
    assert message.subject == "Monthly review: October 2026"
    # No one on the list: nothing to do.
    settings.REFLOOP_REVIEW_RECIPIENTS = ""
    assert monthly_review_email(at("2026-12-01 08:00")) == 0


def test_it_prints_a_change_too_small_to_see_as_none():
    from refloop.analytics.review import change_text

    assert change_text(0.671, 0.673, "share") == "0 pts"  # -0.2 points: not "-0 pts"
    assert change_text(0.5, 1.0, "share") == "-50 pts"
    assert change_text(9.0, 9.04, "days") == "0.0"
    assert change_text(1234, 10, "count") == "+1,224"
    assert change_text(None, 10, "count") == "–"


def test_it_reads_the_year_up_to_its_month_and_every_referral_still_open():
    # The window of October 2026 starts on 1 October 2025 (the month and the twelve before).
    assert review_window(OCTOBER) == dt.date(2025, 10, 1)
    rows = facts(
        {"received_at": "2025-09-30 23:00", "ended_at": "2025-09-30 23:30", "state": "closed"},
        {"received_at": "2025-09-30 23:00", "ended_at": "2025-10-01 00:30", "state": "closed"},
        {"received_at": "2024-06-01 09:00", "state": "triage"},  # open for 28 months
        {"received_at": "2025-10-01 00:00", "ended_at": "2025-10-02 09:00", "state": "closed"},
    )
    kept = review_facts(rows, since=dt.date(2025, 10, 1), tz=NEW_YORK)
    # The first ended before the window (11:30 pm New York, still September): it cannot change
    # a number of the review; the others can.
    assert kept["referral_id"].to_list() == [2, 3, 4]
    review = review_build(rows, month=OCTOBER, targets=GOALS, tz=NEW_YORK)
    # The referral open since June 2024 is in the ageing of open referrals (over 60 days).
    assert review.results["bottlenecks"].open_total == 1


def test_it_compares_the_pilot_the_practice_configured(october, settings, tmp_path):
    from refloop.analytics.review_services import review_month

    line = ServiceLine.objects.get()
    settings.REFLOOP_REVIEW_PILOT = {"starts": "2026-10-01", "service_lines": [line.name]}
    review = review_month(month=OCTOBER, now=NOW)
    pilot = {row.cells[0]: row.cells[1:] for row in review.table("pilot").rows}
    # October's 3 referrals of the line against its September (none): nothing to compare yet.
    assert pilot["Seen (of referrals received)"][0].endswith("(n=3)")
    # The program file the audit reads carries the same pilot.
    call_command("refloop_program", "--out", str(tmp_path / "program.json"))
    assert program_load(tmp_path / "program.json").pilot == pilot_parse(
        settings.REFLOOP_REVIEW_PILOT
    )
    settings.REFLOOP_REVIEW_PILOT = {"starts": "2026-10-01", "lines": ["Cardiology"]}
    with pytest.raises(ImproperlyConfigured, match="a pilot has no lines"):
        review_month(month=OCTOBER, now=NOW)
