"""Original-mode acknowledgements: AA (taken: processed, or acknowledged and ignored), AE (an
application error: ERR names it, MSA-3 says it) and AR (rejected: unreadable, unsupported)."""

from __future__ import annotations

import datetime as dt

from refloop.interop.hl7v2.parsing import Header

APPLICATION = "REFLOOP"
FACILITY = "REFLOOP"
ERROR_CODES = {
    "0": "Message accepted",
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "203": "Unsupported version id",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "207": "Application internal error",
}


def escape(text: str) -> str:
    """HL7 escapes for the delimiters (the text is ours: messages and codes, never PHI)."""
    out = text.replace("\\", "\\E\\")
    for char, code in (("|", "\\F\\"), ("^", "\\S\\"), ("~", "\\R\\"), ("&", "\\T\\")):
        out = out.replace(char, code)
    return out.replace("\r", " ").replace("\n", " ")


def ack_build(
    *,
    header: Header,
    code: str,
    ack_id: str,
    text: str = "",
    error_code: str = "",
    location: str = "",
    now: dt.datetime | None = None,
) -> bytes:
    now = now or dt.datetime.now(dt.UTC)
    version = header.version or "2.5.1"
    msh = "|".join(
        [
            "MSH",
            "^~\\&",
            APPLICATION,
            FACILITY,
            escape(header.application),
            escape(header.facility),
            now.strftime("%Y%m%d%H%M%S+0000"),
            "",
            f"ACK^{escape(header.trigger)}^ACK",
            ack_id,
            header.processing_id or "P",
            escape(version),
        ]
    )
    segments = [msh, "|".join(["MSA", code, escape(header.control_id), escape(text[:80])])]
    if code != "AA":
        error_code = error_code or "207"
        label = ERROR_CODES.get(error_code, "Application error")
        segments.append(
            "|".join(
                [
                    "ERR",
                    "",
                    location,
                    f"{error_code}^{label}^HL70357",
                    "E",
                    "",
                    "",
                    "",
                    escape(text),
                ]
            )
        )
    return ("\r".join(segments) + "\r").encode("utf-8")
