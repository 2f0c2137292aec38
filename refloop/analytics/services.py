"""Writes of the analytics app beyond the fact table (which analytics.sources keeps)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction

from refloop.analytics.audit import AuditError
from refloop.analytics.audit.reading import file_read
from refloop.analytics.models import OutboundOrder
from refloop.analytics.outbound import FIELDS, outbound_parse
from refloop.core.errors import DomainError


@dataclass(frozen=True)
class OutboundImport:
    orders: int  # rows imported (new or updated by their order id)
    quarantined: int
    quarantine: Path | None  # the rows left out, with their reasons, beside the file


def outbound_import(*, path: Path, columns: dict[str, str] | None = None) -> OutboundImport:
    """Import a file of outbound orders. An order id seen before is updated, not added twice;
    rows that cannot be read go to `quarantine-<file>.csv` beside it, with the reasons."""
    try:
        raw = file_read(path)
        orders, bad = outbound_parse(raw, columns=columns, tz=ZoneInfo(settings.TIME_ZONE))
    except (AuditError, ValueError) as error:
        raise DomainError(str(error), code="outbound_file") from None
    with transaction.atomic():
        OutboundOrder.objects.bulk_create(
            [OutboundOrder(**row) for row in orders.unique("order_id", keep="last").to_dicts()],
            update_conflicts=True,
            unique_fields=["order_id"],
            update_fields=[field for field in FIELDS if field != "order_id"],
        )
    quarantine = _quarantine_write(path, raw.columns, bad) if bad else None
    return OutboundImport(orders=orders.height, quarantined=len(bad), quarantine=quarantine)


def _quarantine_write(path: Path, header: list[str], bad) -> Path:
    target = path.with_name(f"quarantine-{path.stem}.csv")
    with target.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["row", "reasons", *header])
        for row in bad:
            writer.writerow([row.row, "; ".join(row.reasons), *(row.values.get(h) for h in header)])
    return target
