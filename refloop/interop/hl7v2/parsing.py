"""Reading HL7 v2 with python-hl7: tolerant where real senders are sloppy, strict where meaning is
at stake.

Tolerated: a UTF-8 byte-order mark, LF or CRLF segment ends, a wrong or missing MSH-9.3 (the
structure is taken from the trigger event, never from MSH-9.3), explicit nulls (`""`: read as
"no value", and as "clear it" where an update is applied), trailing spaces.
Refused: no MSH, no MSH-9 type or trigger, no MSH-10, an unsupported version, a NUL character
in a segment that is read.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import hl7

from refloop.core.errors import DomainError
from refloop.core.text import NUL, nul_shown

BOM = "\ufeff"
NULL = '""'
SUPPORTED_VERSIONS = ("2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9")


class Hl7Problem(DomainError):
    """The message is readable but its content is refused: answered AE, with an ERR segment.
    `code` is from HL7 table 0357; `location` is SEG^sequence^field."""

    def __init__(self, message: str, *, code: str = "207", location: str = ""):
        super().__init__(message, code=code)
        self.location = location


class Hl7Rejected(Hl7Problem):
    """The message cannot be taken at all (unparseable, unsupported type or version): AR."""


def text_of(raw: bytes) -> str:
    """The message as text: UTF-8 (with or without a BOM), else Windows-1252 (what older
    engines send); segment ends made CR whatever the sender used."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    text = text.lstrip(BOM).lstrip()
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    segments = [s.rstrip() for s in text.split("\r")]
    return "\r".join(s for s in segments if s)


@dataclass(frozen=True)
class Header:
    """What MSH says about the message, read even from one that will not parse further."""

    application: str = ""
    facility: str = ""
    control_id: str = ""
    message_type: str = ""
    trigger: str = ""
    version: str = ""
    processing_id: str = ""

    @property
    def sender(self) -> str:
        return f"{self.application}^{self.facility}" if (self.application or self.facility) else ""


def header_read(text: str) -> Header:
    """MSH by hand (the field separator is MSH's fourth character): used to file the raw message
    and to answer it, before and whatever the full parse says."""
    if not text.startswith("MSH") or len(text) < 8:
        return Header()
    sep, comp = text[3], text[4]
    # Kept visible: the header is stored to file the message before the NUL is refused.
    fields = nul_shown(text.split("\r", 1)[0]).split(sep)
    # fields[0] is "MSH", fields[1] the encoding characters (MSH-2); MSH-n is fields[n - 1].

    def field(n: int) -> str:
        return fields[n - 1].strip() if len(fields) >= n else ""

    def first(value: str) -> str:
        return value.split(comp)[0].strip()

    msh9 = field(9).split(comp)
    return Header(
        application=first(field(3))[:60],
        facility=first(field(4))[:60],
        control_id=field(10)[:64],
        message_type=msh9[0].strip().upper()[:3],
        trigger=(msh9[1].strip().upper() if len(msh9) > 1 else "")[:3],
        version=first(field(12))[:12],
        processing_id=first(field(11)),
    )


def header_check(header: Header) -> None:
    """Hl7Rejected when MSH says too little to take the message, or a version we do not read."""
    if not header.message_type:
        raise Hl7Rejected("No MSH segment with a message type (MSH-9).", code="100")
    if not header.trigger:
        raise Hl7Rejected("MSH-9 has no trigger event (MSH-9.2).", code="101", location="MSH^1^9")
    if not header.control_id:
        raise Hl7Rejected("MSH-10 (message control id) is empty.", code="101", location="MSH^1^10")
    if not header.version.startswith(SUPPORTED_VERSIONS):
        raise Hl7Rejected(
            f"HL7 version '{header.version}' is not supported (2.3 to 2.9 are).",
            code="203",
            location="MSH^1^12",
        )


def message_parse(text: str, *, keep: frozenset[str] | None = None) -> Parsed:
    """The parsed message, or Hl7Rejected naming what makes it unreadable. `keep`: the segments
    the handler reads (MSH always): a real REF carries a dozen segments nobody here reads (GT1,
    IN1, IN2, ACC...). The raw message is kept whole all the same."""
    if keep is not None:
        text = "\r".join(s for s in text.split("\r") if s[:3] == "MSH" or s[:3] in keep)
    if NUL in text:
        _nul_refuse(text)
    try:
        return Parsed(text)
    except Exception as error:  # python-hl7 raises plain exceptions on malformed input
        raise Hl7Rejected(f"The message could not be parsed: {type(error).__name__}.") from error


def _nul_refuse(text: str) -> None:
    """HL7 v2 text carries no NUL character (nor could PostgreSQL store it): refused by place."""
    at = text.index(NUL)
    start = text.rfind("\r", 0, at) + 1
    name = text[start : start + 3]
    # MSH-1 is the separator itself, so MSH's fields are counted one further along.
    field = text[start:at].count(text[3]) + (name == "MSH")
    order = sum(1 for segment in text[:start].split("\r") if segment[:3] == name) + 1
    raise Hl7Rejected(
        f"{name}-{field} holds a NUL character (0x00), which HL7 v2 text cannot carry; send the "
        "message again without it.",
        code="102",
        location=f"{name}^{order}^{field}",
    )


class Parsed:
    """A message cut into segments and fields, split further only where a value is read.
    python-hl7 builds a container for every component of every segment (a millisecond for a
    REF, most of it never read): here it reads MSH (the separators and escape character, and it
    refuses a malformed MSH) and unescapes each value read, and the rest is `str.split`, with
    python-hl7's extract_field rules (a path deeper than the value reads its first part)."""

    def __init__(self, text: str):
        lines = [line for line in text.split("\r") if line]
        self.msh = hl7.parse(lines[0])  # the separators, python-hl7's way; raises if malformed
        _, self.field_sep, self.rep_sep, self.comp_sep, self.sub_sep = self.msh.separators
        self.by_name: dict[str, list[list[str]]] = {}
        for line in lines:
            fields = line.split(self.field_sep)
            if fields[0] == "MSH":
                fields.insert(1, self.field_sep)  # MSH-1 is the separator itself
            self.by_name.setdefault(fields[0], []).append(fields)

    def value(self, fields: list[str], field: int, rep: int, component: int, sub: int) -> str:
        """python-hl7's Segment.extract_field on a segment's fields: unescaped, "" if absent."""
        field, rep, component, sub = field or 1, rep or 1, component or 1, sub or 1
        if field >= len(fields):
            return ""
        if fields[0] == "MSH" and field in (1, 2):  # the separators, never split or unescaped
            return fields[field] if rep == component == sub == 1 else ""
        reps = fields[field].split(self.rep_sep)
        if rep > len(reps):
            return ""
        components = reps[rep - 1].split(self.comp_sep)
        if component > len(components):
            return ""
        subs = components[component - 1].split(self.sub_sep)
        return self.unescape(subs[sub - 1]) if sub <= len(subs) else ""

    def unescape(self, value: str) -> str:
        return self.msh.unescape(value) if self.msh.esc in value else value


class Reader:
    """Field access by HL7 position (SEG-field.component.subcomponent), empty when absent."""

    def __init__(self, message: Parsed):
        self.message = message

    def segments(self, name: str) -> list[list[str]]:
        return self.message.by_name.get(name, [])

    def has(self, name: str) -> bool:
        return bool(self.segments(name))

    def get(self, segment, field: int, component: int = 1, sub: int = 1, rep: int = 1) -> str:
        """One value; `segment` is a name (its first occurrence) or a segment. `""` reads as
        empty (use `raw_value` to tell an explicit null apart)."""
        value = self.raw_value(segment, field, component, sub, rep)
        return "" if value == NULL else value

    def raw_value(self, segment, field: int, component: int = 1, sub: int = 1, rep: int = 1):
        if isinstance(segment, str):
            found = self.segments(segment)
            if not found:
                return ""
            segment = found[0]
        # Unescaped once, in value(): a second pass would read an escaped escape character
        # (\E\F\E\ is the text "\F\") as the separator it then spells.
        return self.message.value(segment, field, rep, component, sub).strip()

    def repetitions(self, segment, field: int) -> int:
        if isinstance(segment, str):
            found = self.segments(segment)
            if not found:
                return 0
            segment = found[0]
        if len(segment) <= field:
            return 0
        return max(1, segment[field].count(self.message.rep_sep) + 1)


def date_of(value: str, *, where: str) -> dt.date | None:
    """A DT/DTM's date (YYYYMMDD, time and offset ignored); None when empty."""
    if not value:
        return None
    match = re.match(r"^(\d{4})(\d{2})(\d{2})", value)
    if not match:
        raise Hl7Problem(f"{where} '{value[:20]}' is not a date.", code="102", location=where)
    try:
        return dt.date(*map(int, match.groups()))
    except ValueError as error:
        raise Hl7Problem(
            f"{where} '{value[:20]}' is not a date.", code="102", location=where
        ) from error


def datetime_of(value: str, *, where: str, default_tz) -> dt.datetime | None:
    """A DTM as an aware datetime: its own offset when it has one, else `default_tz`."""
    if not value:
        return None
    match = re.match(
        r"^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?$", value
    )
    if not match:
        raise Hl7Problem(f"{where} '{value[:25]}' is not a date/time.", code="102", location=where)
    year, month, day, hour, minute, second, offset = match.groups()
    try:
        naive = dt.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError as error:
        raise Hl7Problem(
            f"{where} '{value[:25]}' is not a date/time.", code="102", location=where
        ) from error
    if offset:
        sign = 1 if offset[0] == "+" else -1
        delta = dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
        return naive.replace(tzinfo=dt.timezone(sign * delta))
    return naive.replace(tzinfo=default_tz)
