"""A version's text as safe HTML for preview: authors never write HTML.

Everything the author typed is escaped; a small markdown subset is then understood, because
service sheets need headings and lists: a blank line starts a paragraph, "# " / "## " start a
heading, "- " or "* " a list item, **double stars** make bold. Claims flags are marked (<mark>)
where they caught words, and e-mail personalisation fields show as `{first_name}` tokens.
Nothing else: no links, images or raw HTML, so a preview can never run or load anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from refloop.content.claims import Flag

OPEN, CLOSE = "\x01", "\x02"  # where a mark starts and ends, placed before escaping
_HEADING = re.compile(r"^([\x01\x02]*)(#{1,3})\s+")
_ITEM = re.compile(r"^([\x01\x02]*)[-*]\s+")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_FIELD = re.compile(r"(?<!\{)\{(\w+)\}(?!\})")


def _spans(flags: Iterable[Flag], length: int) -> list[tuple[int, int]]:
    """The flagged stretches, overlapping ones merged."""
    merged: list[list[int]] = []
    for start, end in sorted((f.start, f.end) for f in flags if 0 <= f.start < f.end <= length):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def _with_marks(text: str, flags: Iterable[Flag]) -> str:
    text = text.replace(OPEN, " ").replace(CLOSE, " ")  # same length: positions still hold
    out, at = [], 0
    for start, end in _spans(flags, len(text)):
        out += [text[at:start], OPEN, text[start:end], CLOSE]
        at = end
    out.append(text[at:])
    return "".join(out)


def _balanced_lines(text: str) -> list[str]:
    """Lines with each mark closed at the line's end and opened again on the next, so a mark
    never spans two blocks."""
    lines, open_ = [], False
    for line in text.split("\n"):
        prefix = OPEN if open_ else ""
        for char in line:
            if char == OPEN:
                open_ = True
            elif char == CLOSE:
                open_ = False
        lines.append(prefix + line + (CLOSE if open_ else ""))
    return lines


def _inline(line: str, fields: bool) -> str:
    html = escape(line)
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    if fields:
        html = _FIELD.sub(r'<code class="field">{\1}</code>', html)
    return html.replace(OPEN, "<mark>").replace(CLOSE, "</mark>")


def body_html(text: str, *, flags: Iterable[Flag] = (), fields: bool = False) -> SafeString:
    blocks: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append("<p>" + "<br>".join(paragraph) + "</p>")
            paragraph.clear()
        if items:
            blocks.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()

    for line in _balanced_lines(_with_marks(text.replace("\r\n", "\n"), flags)):
        bare = line.replace(OPEN, "").replace(CLOSE, "").strip()
        if not bare:
            flush()
        elif heading := _HEADING.match(line):
            flush()
            level = len(heading.group(2)) + 2  # h3-h5: the page has its own h1 and h2
            body = _HEADING.sub(r"\1", line, count=1)
            blocks.append(f"<h{level}>{_inline(body, fields)}</h{level}>")
        elif _ITEM.match(line):
            if paragraph:
                flush()
            items.append(_inline(_ITEM.sub(r"\1", line, count=1), fields))
        else:
            if items:
                flush()
            paragraph.append(_inline(line, fields))
    flush()
    return mark_safe("\n".join(blocks))  # noqa: S308 - every piece above was escaped
