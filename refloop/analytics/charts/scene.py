"""A chart drawn once as a scene of plain shapes, then rendered three ways that look the same.

A chart function lays out rectangles, lines, polylines, circles and text in a box of `width` x
`height` units, origin top left, y down (as in SVG). The scene then renders as:

- SVG text for the page (inline, with <title>, <desc> and aria attributes; shapes with a link
  become <a> elements so a number on the chart drills down);
- a reportlab Drawing for the PDF (native vectors; y is flipped, one unit is one point);
- PNG for the e-mail (Pillow, drawn at twice the size and scaled down so edges are smooth).

Text is measured with Helvetica's metrics; the PNG uses Liberation Sans, which has the same
widths, and the SVG asks for Helvetica or Arial, so labels fit in all three. Django-free.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from reportlab.pdfbase.pdfmetrics import stringWidth

FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"
SVG_FONTS = "Helvetica, Arial, 'Liberation Sans', sans-serif"


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str
    stroke: str | None = None
    href: str | None = None
    label: str = ""  # what a link or a hover says (aria-label, tooltip)


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str
    width: float = 1.0
    dash: tuple[float, ...] = ()


@dataclass(frozen=True)
class Polyline:
    points: tuple[tuple[float, float], ...]
    stroke: str
    width: float = 1.5
    dash: tuple[float, ...] = ()


@dataclass(frozen=True)
class Circle:
    cx: float
    cy: float
    r: float
    fill: str
    stroke: str | None = None


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # the baseline
    text: str
    size: float = 11.0
    fill: str = "#1d2430"
    anchor: str = "start"  # start, middle, end
    bold: bool = False
    href: str | None = None
    label: str = ""


Shape = Rect | Line | Polyline | Circle | Text


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    return stringWidth(text, FONT_BOLD if bold else FONT, size)


@dataclass
class Scene:
    """A chart: its size, what it shows in words (title, description) and its shapes.

    `key` names the chart on a page (ids of its title and description must be unique)."""

    width: float
    height: float
    title: str
    description: str
    key: str = "chart"
    shapes: list[Shape] = field(default_factory=list)

    def add(self, *shapes: Shape) -> None:
        self.shapes.extend(shapes)

    def links(self) -> list[str]:
        return [s.href for s in self.shapes if getattr(s, "href", None)]

    def svg(self) -> str:
        from refloop.analytics.charts.render import scene_svg

        return scene_svg(self)

    def drawing(self, width: float | None = None):
        """A reportlab Drawing, scaled to `width` points if given (a PDF frame's width)."""
        from refloop.analytics.charts.render import scene_drawing

        return scene_drawing(self, width=width)

    def pdf(self) -> bytes:
        """The drawing alone as a one-page PDF (checks; the review puts drawings in its own)."""
        from reportlab.graphics import renderPDF

        return renderPDF.drawToString(self.drawing())

    def png(self, scale: float = 2.0) -> bytes:
        """PNG of width*scale x height*scale pixels (2 for sharp pictures on phones)."""
        from refloop.analytics.charts.render import scene_png

        return scene_png(self, scale=scale)


def svg_attr(value) -> str:
    return quoteattr(str(value))


def svg_text(value: str) -> str:
    return escape(value)


def png_bytes(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
