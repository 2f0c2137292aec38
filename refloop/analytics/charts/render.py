"""The three renderings of a Scene: SVG text, a reportlab Drawing, PNG bytes."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from refloop.analytics.charts.scene import (
    FONT,
    FONT_BOLD,
    SVG_FONTS,
    Circle,
    Line,
    Polyline,
    Rect,
    Scene,
    Text,
    png_bytes,
    svg_attr,
    svg_text,
)


def _n(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


# SVG ------------------------------------------------------------------------------------------


def _svg_shape(shape) -> str:
    match shape:
        case Rect():
            stroke = f" stroke={svg_attr(shape.stroke)}" if shape.stroke else ""
            tip = f"<title>{svg_text(shape.label)}</title>" if shape.label else ""
            return (
                f"<rect x={svg_attr(_n(shape.x))} y={svg_attr(_n(shape.y))} "
                f"width={svg_attr(_n(shape.w))} height={svg_attr(_n(shape.h))} "
                f"fill={svg_attr(shape.fill)}{stroke}>{tip}</rect>"
            )
        case Line():
            dash = f' stroke-dasharray="{" ".join(map(_n, shape.dash))}"' if shape.dash else ""
            return (
                f'<line x1="{_n(shape.x1)}" y1="{_n(shape.y1)}" x2="{_n(shape.x2)}" '
                f'y2="{_n(shape.y2)}" stroke={svg_attr(shape.stroke)} '
                f'stroke-width="{_n(shape.width)}"{dash}/>'
            )
        case Polyline():
            points = " ".join(f"{_n(x)},{_n(y)}" for x, y in shape.points)
            dash = f' stroke-dasharray="{" ".join(map(_n, shape.dash))}"' if shape.dash else ""
            return (
                f'<polyline points="{points}" fill="none" stroke={svg_attr(shape.stroke)} '
                f'stroke-width="{_n(shape.width)}" stroke-linejoin="round"{dash}/>'
            )
        case Circle():
            stroke = f" stroke={svg_attr(shape.stroke)}" if shape.stroke else ""
            return (
                f'<circle cx="{_n(shape.cx)}" cy="{_n(shape.cy)}" r="{_n(shape.r)}" '
                f"fill={svg_attr(shape.fill)}{stroke}/>"
            )
        case Text():
            weight = ' font-weight="bold"' if shape.bold else ""
            return (
                f'<text x="{_n(shape.x)}" y="{_n(shape.y)}" font-size="{_n(shape.size)}" '
                f'fill={svg_attr(shape.fill)} text-anchor="{shape.anchor}"{weight}>'
                f"{svg_text(shape.text)}</text>"
            )
    raise TypeError(f"not a shape: {shape!r}")


def _svg_linked(shape) -> str:
    drawn = _svg_shape(shape)
    href = getattr(shape, "href", None)
    if not href:
        return drawn
    label = f" aria-label={svg_attr(shape.label)}" if shape.label else ""
    return f'<a href={svg_attr(href)} class="drill"{label}>{drawn}</a>'


def scene_svg(scene: Scene) -> str:
    """Inline SVG. A chart without links is one image to assistive technology (role=img); one
    with links is a group, so its links stay reachable by keyboard and screen readers."""
    title_id, desc_id = f"{scene.key}-title", f"{scene.key}-desc"
    role = "group" if scene.links() else "img"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" '
        f'viewBox="0 0 {_n(scene.width)} {_n(scene.height)}" '
        f'width="{_n(scene.width)}" height="{_n(scene.height)}" role="{role}" '
        f'aria-labelledby="{title_id}" aria-describedby="{desc_id}" '
        f"font-family={svg_attr(SVG_FONTS)} id={svg_attr(scene.key)}>"
        f"<title id={svg_attr(title_id)}>{svg_text(scene.title)}</title>"
        f"<desc id={svg_attr(desc_id)}>{svg_text(scene.description)}</desc>"
    )
    return head + "".join(_svg_linked(shape) for shape in scene.shapes) + "</svg>"


# reportlab ------------------------------------------------------------------------------------


def scene_drawing(scene: Scene, *, width: float | None = None):
    from reportlab.graphics import shapes as rl
    from reportlab.lib.colors import HexColor

    def color(value):
        return HexColor(value) if value else None

    height = scene.height
    drawing = rl.Drawing(scene.width, scene.height)
    for shape in scene.shapes:
        match shape:
            case Rect():
                drawing.add(
                    rl.Rect(
                        shape.x,
                        height - shape.y - shape.h,
                        shape.w,
                        shape.h,
                        fillColor=color(shape.fill),
                        strokeColor=color(shape.stroke),
                        strokeWidth=0.75 if shape.stroke else 0,
                    )
                )
            case Line():
                drawing.add(
                    rl.Line(
                        shape.x1,
                        height - shape.y1,
                        shape.x2,
                        height - shape.y2,
                        strokeColor=color(shape.stroke),
                        strokeWidth=shape.width,
                        strokeDashArray=list(shape.dash) or None,
                    )
                )
            case Polyline():
                flat = [v for x, y in shape.points for v in (x, height - y)]
                drawing.add(
                    rl.PolyLine(
                        flat,
                        strokeColor=color(shape.stroke),
                        strokeWidth=shape.width,
                        strokeDashArray=list(shape.dash) or None,
                        strokeLineJoin=1,
                    )
                )
            case Circle():
                drawing.add(
                    rl.Circle(
                        shape.cx,
                        height - shape.cy,
                        shape.r,
                        fillColor=color(shape.fill),
                        strokeColor=color(shape.stroke),
                        strokeWidth=0.75 if shape.stroke else 0,
                    )
                )
            case Text():
                drawing.add(
                    rl.String(
                        shape.x,
                        height - shape.y,
                        shape.text,
                        fontName=FONT_BOLD if shape.bold else FONT,
                        fontSize=shape.size,
                        fillColor=color(shape.fill),
                        textAnchor=shape.anchor,
                    )
                )
    if width and width != scene.width:
        factor = width / scene.width
        drawing.scale(factor, factor)
        drawing.width, drawing.height = scene.width * factor, scene.height * factor
    return drawing


# PNG ------------------------------------------------------------------------------------------

SUPERSAMPLE = 2  # drawn at twice the size, then scaled down: Pillow's shapes have no anti-aliasing
FONT_FILES = {
    False: (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    ),
    True: (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
        "/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
}
ANCHORS = {"start": "ls", "middle": "ms", "end": "rs"}


@cache
def _font(size: int, bold: bool):
    from PIL import ImageFont

    for name in FONT_FILES[bold]:
        if Path(name).exists():
            return ImageFont.truetype(name, size)
    return ImageFont.load_default(size=size)  # Pillow's own font: widths differ a little


def _dashed(draw, start, end, dash, fill, width):
    """Pillow draws no dashes: cut the segment into on/off pieces."""
    (x1, y1), (x2, y2) = start, end
    length = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
    if not length:
        return
    at, index = 0.0, 0
    while at < length:
        step = dash[index % len(dash)]
        if index % 2 == 0:
            stop = min(at + step, length)
            ends = [(x1 + (x2 - x1) * t, y1 + (y2 - y1) * t) for t in (at / length, stop / length)]
            draw.line(ends, fill=fill, width=width)
        at += step
        index += 1


def scene_png(scene: Scene, *, scale: float = 2.0) -> bytes:
    from PIL import Image, ImageDraw

    k = scale * SUPERSAMPLE
    size = (round(scene.width * scale), round(scene.height * scale))
    image = Image.new("RGB", (round(size[0] * SUPERSAMPLE), round(size[1] * SUPERSAMPLE)), "white")
    draw = ImageDraw.Draw(image)
    for shape in scene.shapes:
        match shape:
            case Rect():
                box = [shape.x * k, shape.y * k, (shape.x + shape.w) * k, (shape.y + shape.h) * k]
                outline = shape.stroke
                draw.rectangle(box, fill=shape.fill, outline=outline, width=round(k * 0.75))
            case Line():
                width = max(1, round(shape.width * k))
                a, b = (shape.x1 * k, shape.y1 * k), (shape.x2 * k, shape.y2 * k)
                if shape.dash:
                    _dashed(draw, a, b, [d * k for d in shape.dash], shape.stroke, width)
                else:
                    draw.line([a, b], fill=shape.stroke, width=width)
            case Polyline():
                width = max(1, round(shape.width * k))
                points = [(x * k, y * k) for x, y in shape.points]
                if shape.dash:
                    for a, b in zip(points, points[1:], strict=False):
                        _dashed(draw, a, b, [d * k for d in shape.dash], shape.stroke, width)
                else:
                    draw.line(points, fill=shape.stroke, width=width, joint="curve")
            case Circle():
                box = [
                    (shape.cx - shape.r) * k,
                    (shape.cy - shape.r) * k,
                    (shape.cx + shape.r) * k,
                    (shape.cy + shape.r) * k,
                ]
                draw.ellipse(box, fill=shape.fill, outline=shape.stroke)
            case Text():
                font = _font(round(shape.size * k), shape.bold)
                draw.text(
                    (shape.x * k, shape.y * k),
                    shape.text,
                    fill=shape.fill,
                    font=font,
                    anchor=ANCHORS[shape.anchor],
                )
    return png_bytes(image.resize(size, Image.Resampling.LANCZOS))
