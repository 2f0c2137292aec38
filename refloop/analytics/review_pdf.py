"""The monthly review as a PDF (reportlab): the tables as tables, the charts as vector drawings
(the same scenes the page shows as SVG), so the numbers are text a reader can copy and search.
The PDF's metadata says "Monthly review" and the month: no PHI anywhere in it."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
)
from reportlab.platypus import (
    Table as PdfTable,
)
from reportlab.platypus import (
    TableStyle as PdfTableStyle,
)

MARGIN = 0.7 * inch
FRAME_WIDTH = LETTER[0] - 2 * MARGIN
GOOD, BAD, GRID, WASH = "#00704f", "#b34700", "#d8dde6", "#eef1f5"


def _styles():
    sheet = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=sheet["Heading1"], fontSize=18, spaceAfter=2),
        "subtitle": ParagraphStyle("sub", parent=sheet["Normal"], textColor="#5b6577"),
        "heading": ParagraphStyle("heading", parent=sheet["Heading2"], spaceBefore=12),
        "note": ParagraphStyle(
            "note", parent=sheet["Normal"], fontSize=8.5, leading=11, textColor="#5b6577"
        ),
        "cell": ParagraphStyle("cell", parent=sheet["Normal"], fontSize=9, leading=11),
        "body": ParagraphStyle("body", parent=sheet["Normal"], fontSize=10, leading=13),
    }


def review_pdf_render(review, *, subtitle: str) -> bytes:
    styles = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=review.title,
        subject=review.title,
        author=review.organization or "Refloop",
        creator="Refloop",
    )
    story = [
        Paragraph(escape(review.title), styles["title"]),
        Paragraph(escape(subtitle), styles["subtitle"]),
        Spacer(1, 6),
    ]
    story += [Paragraph(escape(note), styles["body"]) for note in review.notes]
    for index, table in enumerate(review.tables):
        story.append(_section(table, styles))
        if index == 0:
            for figure in review.figures:
                story += [Spacer(1, 10), figure.scene.drawing(width=FRAME_WIDTH)]
    document.build(story)
    return buffer.getvalue()


def _section(table, styles) -> KeepTogether:
    parts = [Paragraph(escape(table.title), styles["heading"])]
    if table.rows:
        parts.append(_grid(table, styles))
    else:
        parts.append(Paragraph(escape(table.empty), styles["body"]))
    if table.note:
        parts += [Spacer(1, 3), Paragraph(escape(table.note), styles["note"])]
    return KeepTogether(parts)


def _grid(table, styles) -> PdfTable:
    head = [Paragraph(f"<b>{escape(c)}</b>", styles["cell"]) for c in table.columns]
    body = [[Paragraph(escape(cell), styles["cell"]) for cell in row.cells] for row in table.rows]
    first = FRAME_WIDTH * (0.34 if len(table.columns) > 3 else 0.5)
    rest = (FRAME_WIDTH - first) / max(1, len(table.columns) - 1)
    grid = PdfTable([head, *body], colWidths=[first] + [rest] * (len(table.columns) - 1))
    style = [
        ("LINEBELOW", (0, 0), (-1, -1), 0.5, colors.HexColor(GRID)),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(WASH)),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    for number, row in enumerate(table.rows, start=1):
        if row.flag:
            colour = colors.HexColor(GOOD if row.flag == "good" else BAD)
            style.append(("LINEBEFORE", (0, number), (0, number), 3, colour))
    grid.setStyle(PdfTableStyle(style))
    return grid
