"""Charts are drawn once and rendered three ways: SVG for the page, a reportlab drawing for the
PDF, PNG for the e-mail. Each rendering must carry the chart's numbers (printed, not only drawn)."""

import datetime as dt
import io

import pytest
from lxml import etree
from PIL import Image
from pypdf import PdfReader
from reportlab.lib.pagesizes import LETTER
from reportlab.platypus import SimpleDocTemplate

from refloop.analytics.charts import (
    CycleRow,
    Distribution,
    FunnelBar,
    Panel,
    Series,
    Stack,
    ageing_chart,
    cycle_chart,
    cycle_summary_chart,
    funnel_chart,
    multiples_chart,
    trend_chart,
)
from refloop.analytics.charts.layout import axis
from refloop.analytics.cohorts import Drill
from refloop.analytics.metrics.funnel import funnel as funnel_metric
from refloop.analytics.scope import Scope
from tests.analytics.factories import NEW_YORK, facts

SVG = "{http://www.w3.org/2000/svg}"
SHAPE_TAGS = {"rect", "line", "polyline", "circle", "text"}
MONTHS = [dt.date(2025, m, 1) for m in range(1, 7)]


def link(drill: Drill) -> str:
    return f"/dashboards/drill/?cohort={drill.cohort}&arg={drill.arg}"


def funnel():
    return [
        FunnelBar("Received", 1240, Drill("funnel.step", "received")),
        FunnelBar("Accepted", 1010, Drill("funnel.step", "accepted")),
        FunnelBar("Seen", 640, Drill("funnel.step", "seen")),
        FunnelBar("Report delivered", 3, Drill("funnel.step", "report_delivered")),
    ]


def svg_texts(svg: str) -> list[str]:
    root = etree.fromstring(svg.encode())
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def pdf_text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def every_chart():
    values = [1.0, 2.0, 2.5, 3.0, 9.0, 30.0]
    return [
        funnel_chart(funnel(), link=link),
        cycle_chart(
            Distribution(
                "Received to triage decision", values, 2.75, 9.0, target=8.0, within_target=4 / 6
            ),
        ),  # fmt: skip
        cycle_summary_chart([CycleRow("Received to visit", 12.5, 31.0, "days", 14.0, 0.55)]),
        trend_chart(MONTHS, [Series("Received", [80, 95, None, 101, 99, 120])], title="Volume"),
        multiples_chart(MONTHS, [Panel("Dr. Aster", [5, 6, 4, 3, 1, 0], "declining", True)]),
        ageing_chart(["0–2 d", "3–7 d"], [Stack("Cardiology", [10, 4]), Stack("Ortho", [6, 0])]),
    ]


def test_it_prints_the_funnel_counts_and_conversions_in_the_svg():
    scene = funnel_chart(funnel(), link=link)

    root = etree.fromstring(scene.svg().encode())
    texts = svg_texts(scene.svg())

    assert root.get("aria-labelledby") == "funnel-title"
    assert root.find(f"{SVG}title").text == "Referral funnel"
    assert "Accepted: 1,010 (81% of previous)" in root.find(f"{SVG}desc").text
    # 1,010 / 1,240 = 81.5% -> 81%; 640 / 1,010 = 63.4% -> 63%; 3 / 640 = 0.47% -> 0.5%
    assert {"1,240", "1,010", "640", "3"} <= set(texts)
    assert {"81% of previous", "63% of previous", "0.5% of previous"} <= set(texts)
    # 3 / 1,240 = 0.24% overall
    assert "Overall 0.2% of received" in texts


def test_it_links_every_count_to_its_referrals_only_when_given_a_link():
    linked = etree.fromstring(funnel_chart(funnel(), link=link).svg().encode())
    plain = etree.fromstring(funnel_chart(funnel()).svg().encode())

    hrefs = {a.get("href") for a in linked.iter(f"{SVG}a")}
    assert "/dashboards/drill/?cohort=funnel.step&arg=seen" in hrefs
    assert len(hrefs) == 4
    assert linked.get("role") == "group"  # links inside stay reachable
    assert list(plain.iter(f"{SVG}a")) == []
    assert plain.get("role") == "img"


def test_it_hides_links_a_person_may_not_follow():
    scene = funnel_chart(funnel(), link=lambda drill: None)

    assert scene.links() == []
    assert "<a " not in scene.svg()


def test_it_escapes_labels_in_the_svg():
    scene = funnel_chart([FunnelBar("<Dr. O'Hara & Sons>", 2)])

    texts = svg_texts(scene.svg())

    assert "<Dr. O'Hara & Sons>" in texts


def test_it_counts_each_duration_once_in_the_histogram():
    # 6 values on an axis to 12 h (p90 9 x 1.2 = 10.8 -> 12) in 1 h bins: 1, 2, 2.5 and 3 in
    # their bins, 9 in [9, 10), 30 beyond the axis ("more").
    values = [1.0, 2.0, 2.5, 3.0, 9.0, 30.0]
    step = Distribution("Received to triage decision", values, 2.75, 9.0, target=8.0,
                        within_target=4 / 6)  # fmt: skip

    texts = svg_texts(cycle_chart(step).svg())

    assert {"median 2.8 h", "p90 9.0 h", "target 8.0 h"} <= set(texts)
    assert "6 referrals · 67% within target" in texts
    assert "more" in texts
    bar_counts = [int(t) for t in texts if t.isdigit() and int(t) <= 2][:6]
    assert sum(bar_counts) == 6  # 1 + 2 (2.0 and 2.5) + 1 + 1 + 1 beyond


def test_it_prints_the_trend_values_and_breaks_the_line_at_a_gap():
    scene = trend_chart(
        MONTHS, [Series("Received", [80, 95, None, 101, 99, 120])], title="Volume", target=100
    )

    root = etree.fromstring(scene.svg().encode())
    texts = svg_texts(scene.svg())

    assert {"80", "95", "101", "99", "120", "target 100", "Jan 25", "Jun 25"} <= set(texts)
    assert len(list(root.iter(f"{SVG}polyline"))) == 2  # Jan-Feb, then Apr-Jun


def test_it_marks_a_referrer_whose_volume_fell():
    scene = multiples_chart(
        MONTHS,
        [Panel("Dr. Aster", [5, 6, 4, 3, 1, 0], "declining", True), Panel("Dr. Birch", [2] * 6)],
    )

    texts = svg_texts(scene.svg())

    assert {"Dr. Aster", "declining", "0", "Dr. Birch", "2"} <= set(texts)
    assert "Dr. Aster (declining): Jan 25 5" in scene.description
    assert "fell below its baseline" in scene.description
    assert "Dr. Birch" in scene.description and scene.description.count("fell below") == 1


def test_it_stacks_the_ageing_buckets_with_their_totals():
    scene = ageing_chart(
        ["0–2 d", "3–7 d"],
        [Stack("Cardiology", [10, 4]), Stack("Ortho", [6, 0])],
        totals=[Drill("age", "0-2"), None],
        link=link,
    )

    texts = svg_texts(scene.svg())

    assert {"16", "4", "10", "6", "Cardiology", "Ortho"} <= set(texts)  # 10 + 6 = 16
    assert scene.links() == ["/dashboards/drill/?cohort=age&arg=0-2"]


@pytest.mark.parametrize("scene", every_chart(), ids=lambda s: s.key)
def test_it_renders_every_chart_as_svg_png_and_pdf(scene):
    etree.fromstring(scene.svg().encode())  # well-formed XML

    image = Image.open(io.BytesIO(scene.png()))

    assert image.format == "PNG"
    assert image.size == (round(scene.width * 2), round(scene.height * 2))
    assert image.convert("L").getextrema()[0] < 128  # something dark was drawn on white
    assert PdfReader(io.BytesIO(scene.pdf())).pages


def test_it_puts_the_same_numbers_in_the_pdf_as_in_the_svg():
    scene = funnel_chart(funnel())

    text = pdf_text(scene.pdf())

    for number in ("1,240", "1,010", "640", "81% of previous", "Report delivered"):
        assert number in text


def test_it_fits_a_drawing_into_a_pdf_frame():
    scene = funnel_chart(funnel())
    buffer = io.BytesIO()
    drawing = scene.drawing(width=400)

    SimpleDocTemplate(buffer, pagesize=LETTER).build([drawing])

    assert drawing.width == pytest.approx(400)
    assert drawing.height == pytest.approx(scene.height * 400 / scene.width)
    assert "1,240" in pdf_text(buffer.getvalue())


def test_it_draws_an_empty_funnel():
    scene = funnel_chart([])

    assert scene.description == "No referrals."
    Image.open(io.BytesIO(scene.png())).verify()


def test_it_draws_the_funnel_metric_with_its_own_numbers():
    rows = [
        {"received_at": "2025-03-03 09:00", "accepted_at": "2025-03-03 12:00",
         "booked_at": "2025-03-04 10:00", "seen_at": "2025-03-10 10:00", "state": "completed"},
        {"received_at": "2025-03-05 09:00", "accepted_at": "2025-03-05 12:00",
         "booked_at": "2025-03-06 10:00", "state": "scheduled"},
        {"received_at": "2025-03-07 09:00", "accepted_at": "2025-03-07 12:00", "state": "accepted"},
        {"received_at": "2025-03-09 09:00"},
        {"received_at": "2025-04-01 09:00"},  # April: not in March's funnel
    ]  # fmt: skip
    scope = Scope.month(dt.date(2025, 3, 1), tz=NEW_YORK)
    result = funnel_metric(facts(*rows), scope)

    scene = funnel_chart(result, link=link)

    texts = svg_texts(scene.svg())
    # received 4; accepted 3 (3/4 = 75%); scheduled 2 (2/3 = 67%); seen 1 (1/2 = 50%);
    # report sent 0 (0/1 = 0%); delivered 0 (0/0: no share); overall seen / received = 1/4.
    assert {"4", "3", "2", "1", "0"} <= set(texts)
    assert {"75% of previous", "67% of previous", "50% of previous", "0% of previous"} <= set(texts)
    assert "– of previous" in texts
    assert "Overall 25% of received were seen" in texts
    assert "/dashboards/drill/?cohort=funnel.step&arg=seen" in scene.links()


def test_it_puts_round_ticks_on_the_value_axis():
    # peak 21 x 1.1 = 23.1 -> steps of nice_step(23.1 / 4 = 5.8) = 10 -> 0, 10, 20, 30
    assert axis(23.1) == [0, 10, 20, 30]
    assert axis(143) == [0, 50, 100, 150]
    assert axis(0) == [0, 1.0]

    texts = svg_texts(trend_chart(MONTHS, [Series("Received", [18, 21, 20, 19, 21, 21])],
                                  title="Volume").svg())  # fmt: skip

    assert {"0", "10", "20", "30"} <= set(texts)
    assert "22" not in texts and "7.5" not in texts


@pytest.mark.parametrize("scene", every_chart(), ids=lambda s: s.key)
def test_it_draws_the_same_shapes_and_words_in_the_svg_and_the_pdf(scene):
    from reportlab.graphics.shapes import String

    root = etree.fromstring(scene.svg().encode())
    drawing = scene.drawing()
    strings = [s.text for s in drawing.getContents() if isinstance(s, String)]

    shapes = [e for e in root.iter() if etree.QName(e).localname in SHAPE_TAGS]

    assert strings == svg_texts(scene.svg())
    assert len(shapes) == len(drawing.getContents()) == len(scene.shapes)


def test_it_draws_every_chart_with_nothing_to_show():
    scenes = [
        cycle_chart(Distribution("Received to triage decision", [], None, None)),
        cycle_summary_chart([]),
        trend_chart([], [], title="Volume"),
        trend_chart(MONTHS[:1], [Series("Received", [None])], title="Volume"),
        multiples_chart([], []),
        ageing_chart([], []),
    ]

    for scene in scenes:
        etree.fromstring(scene.svg().encode())
        assert Image.open(io.BytesIO(scene.png())).size == (scene.width * 2, scene.height * 2)
        assert PdfReader(io.BytesIO(scene.pdf())).pages
    assert "0 referrals" in svg_texts(scenes[0].svg())
