"""Every way in, in the demo: after the history is loaded, referrals arrive today by each channel
through its real entry point (a signed fax webhook, a FHIR client's transaction and message
Bundles, HL7 v2 over MLLP, the public e-referral form, a spreadsheet import), so the worklist
shows them side by side and each sender is answered in its own standard."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.module_loading import import_string

# (what it is, the hook that makes it happen): each returns a one-line summary.
CHANNEL_HOOKS: tuple[tuple[str, str], ...] = (
    ("fax inbox", "refloop.inbox.demo.demo_receive"),
    ("FHIR client", "refloop.interop.fhir.demo.demo_clients"),
    ("FHIR API", "refloop.interop.fhir.demo_intake.demo_receive"),
    ("HL7 v2", "refloop.interop.hl7v2.demo.demo_receive"),
    ("referring-office portal", "refloop.portal.demo.demo_receive"),
    ("spreadsheet import", "refloop.interop.files.demo.demo_receive"),
)


def channels_receive(report: Callable[[str], None] = lambda line: None) -> list[str]:
    summaries = []
    for _label, path in CHANNEL_HOOKS:
        summary = import_string(path)()
        report(summary)
        summaries.append(summary)
    return summaries
