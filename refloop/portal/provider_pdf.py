"""A service line's service sheet (one page) and referral packet (cover, criteria, required
records, how to refer, a fax cover sheet to fill in) as real PDFs (reportlab), printed from the
same ProviderPage as the public page (portal.queries_provider), so the three say the same.

The sheet carries the approved text (a service sheet's, else the provider page's) as approved,
the measured turnaround beside it, and the fact sections the text does not hold. The packet is
a referral kit of facts only (criteria, records with boxes to tick, how to refer, the fax
cover), so it needs no approval of its own and never goes stale with an expired text.

Layout follows core/pdf.py's letters (the practice's letterhead, a title, sections). The PDFs
carry no patient or referral data; their metadata names the line and the kind of document."""

from __future__ import annotations

import io
import re
from xml.sax.saxutils import escape

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import (
    HRFlowable,
    KeepInFrame,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from refloop.portal.queries_provider import ProviderPage

MARGIN = 0.7 * inch
WIDTH = LETTER[0] - 2 * MARGIN
HEIGHT = LETTER[1] - 2 * MARGIN
GRID, WASH, HELD = "#c9d1db", "#eef1f5", "#b34700"
BOX = 0.16 * inch  # a check box to tick by hand
# The markup content.preview understands in an approved text.
HEADING = re.compile(r"^#{1,3}\s+")
ITEM = re.compile(r"^[-*]\s+")
BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")


def _styles():
    sheet = getSampleStyleSheet()
    return {
        "practice": ParagraphStyle("practice", parent=sheet["Heading2"], spaceAfter=2),
        "small": ParagraphStyle("small", parent=sheet["Normal"], fontSize=8.5, leading=11),
        "title": ParagraphStyle("title", parent=sheet["Heading1"], fontSize=16, spaceBefore=6),
        "heading": ParagraphStyle("heading", parent=sheet["Heading3"], spaceBefore=8),
        "body": ParagraphStyle("body", parent=sheet["Normal"], fontSize=10, leading=13.5),
        "cell": ParagraphStyle("cell", parent=sheet["Normal"], fontSize=9.5, leading=12),
        "held": ParagraphStyle(
            "held", parent=sheet["Normal"], fontSize=10, leading=13.5, textColor=HELD
        ),
    }


def provider_sheet_pdf(*, page: ProviderPage) -> bytes:
    """One page: whatever the approved text's length, the content is shrunk to fit the page."""
    styles = _styles()
    story = _letterhead(styles)
    story.append(_p(f"{page.line.name}: service sheet for referring clinicians", styles["title"]))
    story += _held(page, styles)
    story += _approved(page, styles)
    story += _turnaround(page, styles)
    if page.shows("criteria"):
        story += _criteria(page, styles)
    if page.shows("records"):
        story += _records(page, styles, boxes=False)
    story += _how_to_refer(page, styles)
    if page.shows("urgent"):
        story += _urgent(page, styles)
    story += _printed(page, styles)
    return _build([KeepInFrame(WIDTH, HEIGHT, story, mode="shrink")], page, "Service sheet")


def provider_packet_pdf(*, page: ProviderPage) -> bytes:
    styles = _styles()
    cover = _letterhead(styles) + [
        _p(f"Referral packet: {page.line.name}", styles["title"]),
        _p(
            "In this packet: whom we see and whom we do not; the records to send; how to "
            "refer, including urgent referrals; a fax cover sheet to fill in.",
            styles["body"],
        ),
        Spacer(1, 8),
    ]
    cover += _held(page, styles) + _turnaround(page, styles) + _printed(page, styles)
    criteria = _criteria(page, styles) + _records(page, styles)
    criteria += _how_to_refer(page, styles) + _urgent(page, styles)
    story = [
        KeepInFrame(WIDTH, HEIGHT, cover, mode="shrink"),
        PageBreak(),
        *criteria,
        PageBreak(),
        KeepInFrame(WIDTH, HEIGHT, _fax_cover(page, styles), mode="shrink"),
    ]
    return _build(story, page, "Referral packet")


def _build(story: list, page: ProviderPage, kind: str) -> bytes:
    buffer = io.BytesIO()
    title = f"{kind}: {page.line.name}"
    document = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        subject=title,
        author=settings.REFLOOP_PRACTICE_NAME,
        creator="Refloop",
    )
    document.build(story)
    return buffer.getvalue()


def _p(text: str, style) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _paragraphs(text: str, style) -> list:
    blocks = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n")]
    return [_p(block, style) for block in blocks if block]


def _letterhead(styles) -> list:
    return [
        _p(settings.REFLOOP_PRACTICE_NAME, styles["practice"]),
        _p(
            f"{settings.REFLOOP_PRACTICE_ADDRESS} · {settings.REFLOOP_PRACTICE_PHONE}",
            styles["small"],
        ),
        HRFlowable(width="100%", color=colors.grey, spaceBefore=4, spaceAfter=4),
    ]


def _held(page: ProviderPage, styles) -> list:
    if not page.held_text:
        return []
    box = Table([[_p(page.held_text, styles["held"])]], colWidths=[WIDTH])
    box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 1, HELD), ("PADDING", (0, 0), (-1, -1), 6)]))
    return [Spacer(1, 4), box, Spacer(1, 4)]


def _approved(page: ProviderPage, styles) -> list:
    """The reviewer's text exactly as approved, with the markup the content library previews
    (content.preview: "# " headings, "- " list items, **bold**); nothing when none is usable."""
    if page.approved is None:
        return []
    out, lines = [], []

    def flush():
        if lines:
            out.append(Paragraph("<br/>".join(lines), styles["body"]))
            lines.clear()

    for raw in page.approved.body.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line:
            flush()
        elif heading := HEADING.match(line):
            flush()
            out.append(Paragraph(_inline(line[heading.end() :]), styles["heading"]))
        elif item := ITEM.match(line):
            flush()
            out.append(Paragraph("• " + _inline(line[item.end() :]), styles["body"]))
        else:
            lines.append(_inline(line))
    flush()
    return out


def _inline(text: str) -> str:
    return BOLD.sub(r"<b>\1</b>", escape(text))


def _turnaround(page: ProviderPage, styles) -> list:
    rows = [["Step", "Measured", "Referrals"]]
    rows += [[f.label, f.value, f.basis] for f in page.figures]
    if page.target_text:
        rows.append(["Our target, referral to appointment (routine)", page.target_text, ""])
    table = Table(rows, colWidths=[WIDTH * 0.52, WIDTH * 0.28, WIDTH * 0.2])
    table.setStyle(
        TableStyle(
            [
                ("FONTSIZE", (0, 0), (-1, -1), 9.5),
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTNAME", (1, 1), (1, -1), "Helvetica-Bold"),
                ("BACKGROUND", (0, 0), (-1, 0), WASH),
                ("LINEBELOW", (0, 0), (-1, -1), 0.5, GRID),
            ]
        )
    )
    note = (
        f"Measured from our own records: {page.window_text}. Medians; below "
        f'{page.turnaround.min_referrals} referrals we say "not enough data".'
    )
    return [_p("Expected turnaround", styles["heading"]), table, _p(note, styles["small"])]


def _criteria(page: ProviderPage, styles) -> list:
    line = page.line
    out = [_p("Whom we see", styles["heading"])]
    out += _paragraphs(
        line.acceptance_criteria or "Call us to discuss the patient.", styles["body"]
    )
    if line.exclusions:
        out += [_p("Whom we do not see", styles["heading"])]
        out += _paragraphs(line.exclusions, styles["body"])
    return out


def _records(page: ProviderPage, styles, *, boxes: bool = True) -> list:
    out = [_p("What to send with the referral", styles["heading"])]
    if not page.checklist:
        return out + [_p("No documents are required; send what you have.", styles["body"])]
    if not boxes:
        return out + [_p(f"• {item.name} (required)", styles["body"]) for item in page.checklist]
    return out + [_checklist([f"{item.name} (required)" for item in page.checklist], styles)]


def _checklist(labels: list[str], styles) -> Table:
    """An empty box to tick by hand before each label."""
    table = Table(
        [[_box(), _p(label, styles["cell"])] for label in labels], colWidths=[BOX * 2, None]
    )
    table.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (0, -1), 0)])
    )
    table.hAlign = "LEFT"
    return table


def _box() -> Drawing:
    box = Drawing(BOX, BOX)
    box.add(Rect(0, 0, BOX, BOX, fillColor=None, strokeColor=colors.black, strokeWidth=0.8))
    return box


def _form_url(page: ProviderPage) -> str:
    return settings.REFLOOP_BASE_URL.rstrip("/") + reverse("refer_new", args=[page.line.code])


def _how_to_refer(page: ProviderPage, styles) -> list:
    line = page.line
    ways = [f"Online (secure form, no account needed): {_form_url(page)}"]
    if line.fax:
        ways.append(f"Fax: {line.fax}")
    if line.phone:
        ways.append(f"Phone: {line.phone}")
    if line.secure_email:
        ways.append(f"Direct secure e-mail: {line.secure_email}")
    if not (line.fax or line.phone or line.secure_email):
        ways.append(f"Phone: {settings.REFLOOP_PRACTICE_PHONE}")
    return [_p("Ways to send a referral", styles["heading"])] + [
        _p(f"• {w}", styles["body"]) for w in ways
    ]


def _urgent(page: ProviderPage, styles) -> list:
    return [_p("Urgent referrals", styles["heading"]), _p(page.urgent_text, styles["body"])]


def _printed(page: ProviderPage, styles) -> list:
    day = timezone.localdate()
    return [Spacer(1, 6), _p(f"Printed {day:%B} {day.day}, {day.year}.", styles["small"])]


def _fax_cover(page: ProviderPage, styles) -> list:
    """A fax cover sheet the office fills in by hand: blank fields, boxes to tick."""
    line = page.line
    fax = line.fax or "(see the service page)"
    head = _letterhead(styles) + [
        _p(f"Fax cover sheet: referral to {line.name}", styles["title"]),
        _p(f"To: {settings.REFLOOP_PRACTICE_NAME}, {line.name} referrals", styles["body"]),
        _p(f"Fax: {fax}", styles["body"]),
        _p(f"Phone: {line.phone or settings.REFLOOP_PRACTICE_PHONE}", styles["body"]),
        Spacer(1, 8),
    ]
    blanks = [
        "Referring clinician",
        "NPI",
        "Practice",
        "Practice phone",
        "Practice fax (for our reply)",
        "Date sent",
        "Number of pages, this sheet included",
    ]
    fields = Table(
        [[_p(label, styles["cell"]), ""] for label in blanks],
        colWidths=[WIDTH * 0.38, WIDTH * 0.62],
        rowHeights=[0.34 * inch] * len(blanks),
    )
    fields.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (1, 0), (1, -1), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
            ]
        )
    )
    body = [fields, _p("Priority (tick one)", styles["heading"])]
    body.append(_checklist(["Routine", "Urgent (also call us, see the urgent pathway)"], styles))
    body.append(_p("Records enclosed (tick each)", styles["heading"]))
    body.append(_checklist([item.name for item in page.checklist] or ["Referral letter"], styles))
    body += [
        _p("Comments", styles["heading"]),
        Table([[""]] * 3, colWidths=[WIDTH], rowHeights=[0.32 * inch] * 3,
              style=[("LINEBELOW", (0, 0), (-1, -1), 0.6, colors.black)]),
        Spacer(1, 10),
        _p(
            "Confidential: this fax may contain protected health information. If you received "
            f"it in error, call {line.phone or settings.REFLOOP_PRACTICE_PHONE} and destroy it.",
            styles["small"],
        ),
    ]  # fmt: skip
    return head + body
