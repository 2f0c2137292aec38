"""The two small synthetic PDFs every demo document points at, written once under MEDIA_ROOT.

A million referrals must not mean a million files: the rows share these, and they are real PDFs,
so the document viewer shows them like any upload.
"""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from refloop.demo.generator import Documents

PACKET = "demo/synthetic-referral-packet.pdf"
REPORT = "demo/synthetic-consult-report.pdf"


def pdf_bytes(title: str, lines: list[str]) -> bytes:
    """A one-page PDF with a title and a few lines of text (Helvetica, no dependencies)."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    ops = ["BT", "/F1 18 Tf", "72 740 Td", f"({escape(title)}) Tj", "/F1 11 Tf"]
    for line in lines:
        ops += ["0 -20 Td", f"({escape(line)}) Tj"]
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


NOTICE = [
    "SYNTHETIC DEMO DOCUMENT - not a real patient record.",
    "Every referral in the Refloop demo points at this same file.",
    "",
]
CONTENTS = {
    PACKET: pdf_bytes(
        "Referral packet (demo)",
        NOTICE
        + [
            "Reason for referral, history, medicines, allergies,",
            "recent results and the insurance card would be here.",
        ],
    ),
    REPORT: pdf_bytes(
        "Consult report (demo)",
        NOTICE
        + [
            "Assessment, findings, recommendations and the plan for",
            "follow-up would be here, sent back to the referring clinician.",
        ],
    ),
}


def demo_files_write() -> Documents:
    """Write the shared PDFs if they are not there yet; returns (name, size) of each."""
    for name, content in CONTENTS.items():
        if not default_storage.exists(name):
            saved = default_storage.save(name, ContentFile(content))
            assert saved == name, saved
    return Documents(packet=(PACKET, len(CONTENTS[PACKET])), report=(REPORT, len(CONTENTS[REPORT])))
