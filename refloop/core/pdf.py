"""Letters and reports as real PDFs (reportlab): the consult report, a decline letter, a patient's
visit instructions. One layout for all of them: the practice's letterhead, a title, sections.

The PDF's own metadata (title, subject) is generic: it is readable without opening the pages and
must not carry PHI.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import HRFlowable, Paragraph, SimpleDocTemplate, Spacer


@dataclass(frozen=True)
class Section:
    heading: str
    text: str  # plain text; blank lines separate paragraphs


def _styles():
    sheet = getSampleStyleSheet()
    return {
        "practice": ParagraphStyle("practice", parent=sheet["Heading2"], spaceAfter=2),
        "small": ParagraphStyle("small", parent=sheet["Normal"], fontSize=8.5, leading=11),
        "title": ParagraphStyle("title", parent=sheet["Heading1"], fontSize=16, spaceBefore=10),
        "heading": ParagraphStyle("heading", parent=sheet["Heading3"], spaceBefore=8),
        "body": ParagraphStyle("body", parent=sheet["Normal"], fontSize=10.5, leading=14),
    }


def _paragraphs(text: str, style) -> list:
    blocks = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n")]
    return [
        Paragraph(escape(block).replace("\n", "<br/>"), style) for block in blocks if block
    ] or [Paragraph("—", style)]


def pdf_letter(
    *,
    title: str,
    sections: list[Section],
    preamble: list[str] | None = None,
    footer: str = "",
    metadata_title: str = "Letter",
) -> bytes:
    """Render a letter: letterhead, `preamble` lines (addressee, date, re: line), the titled
    sections, a footer line. Returns the PDF's bytes."""
    styles = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=0.9 * inch,
        rightMargin=0.9 * inch,
        topMargin=0.8 * inch,
        bottomMargin=0.8 * inch,
        title=metadata_title,
        author=settings.REFLOOP_PRACTICE_NAME,
        subject=metadata_title,
        creator="Refloop",
    )
    story = [
        Paragraph(escape(settings.REFLOOP_PRACTICE_NAME), styles["practice"]),
        Paragraph(
            escape(f"{settings.REFLOOP_PRACTICE_ADDRESS} · {settings.REFLOOP_PRACTICE_PHONE}"),
            styles["small"],
        ),
        HRFlowable(width="100%", color=colors.grey, spaceBefore=6, spaceAfter=6),
    ]
    for line in preamble or []:
        story.append(Paragraph(escape(line), styles["body"]))
    story.append(Paragraph(escape(title), styles["title"]))
    for section in sections:
        if section.heading:
            story.append(Paragraph(escape(section.heading), styles["heading"]))
        story.extend(_paragraphs(section.text, styles["body"]))
    if footer:
        story += [Spacer(1, 14), Paragraph(escape(footer), styles["small"])]
    document.build(story)
    return buffer.getvalue()
