"""Which handler takes a message: by MSH-9.1 type and MSH-9.2 trigger event only (MSH-9.3, the
structure id, is often wrong in real feeds and is never read)."""

from __future__ import annotations

from collections.abc import Callable

from refloop.interop.hl7v2.handlers import adt, ref, siu
from refloop.interop.hl7v2.handlers.common import Context, Outcome
from refloop.interop.hl7v2.parsing import Header, Hl7Rejected

HANDLERS: dict[tuple[str, str], Callable[[Context], Outcome]] = {
    ("REF", "I12"): ref.receive,
    ("REF", "I13"): ref.revise,
    ("REF", "I14"): ref.cancel,
    ("SIU", "S12"): siu.book,
    ("SIU", "S13"): siu.book,
    ("SIU", "S14"): siu.book,
    ("SIU", "S15"): siu.cancel,
    ("SIU", "S26"): siu.no_show,
    ("ADT", "A01"): adt.update,
    ("ADT", "A04"): adt.update,
    ("ADT", "A08"): adt.update,
    ("ADT", "A31"): adt.update,
    ("ADT", "A40"): adt.merge,
    ("ADT", "A47"): adt.merge,
}


# The segments each family reads (the rest is kept raw, not parsed).
SEGMENTS = {
    "REF": frozenset({"RF1", "PRD", "PID", "DG1", "NTE"}),
    "SIU": frozenset({"SCH", "TQ1", "PID", "AIS", "AIL"}),
    "ADT": frozenset({"PID", "MRG"}),
}


def segments_for(header: Header, handler) -> frozenset[str] | None:
    """Nothing beyond MSH for a message only acknowledged and ignored; None: parse it all."""
    if handler is adt.ignore:
        return frozenset()
    return SEGMENTS.get(header.message_type)


def handler_for(header: Header) -> Callable[[Context], Outcome]:
    handler = HANDLERS.get((header.message_type, header.trigger))
    if handler is not None:
        return handler
    if header.message_type == "ADT":
        return adt.ignore  # any other ADT event: acknowledged, ignored with the reason
    if header.message_type in {"REF", "SIU"}:
        raise Hl7Rejected(
            f"{header.message_type}^{header.trigger} is not supported.",
            code="201",
            location="MSH^1^9",
        )
    raise Hl7Rejected(
        f"Message type {header.message_type} is not supported (REF, SIU and ADT are).",
        code="200",
        location="MSH^1^9",
    )
