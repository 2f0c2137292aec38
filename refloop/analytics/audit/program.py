"""What the audit needs to know about the program besides the file: the response targets of the
clocks, the goals the headline is held against, and the days the practice was closed. A JSON
file (`--program FILE`), or Refloop's standard targets when none is given:

    {"targets": [{"service_line": "*", "priority": "routine", "kind": "acknowledge",
                  "amount": 8, "unit": "business_hours"}, ...],
     "goals": {"acknowledged_within_target": 0.9, "conversion": 0.6, ...},
     "closures": ["2026-12-24", ...],
     "pilot": {"starts": "2026-06-01", "service_lines": ["Cardiology"]}}   (optional)

A target for service line "*" applies to every service line that has no target of its own.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from refloop.analytics.audit import AuditError
from refloop.analytics.facts import TARGET_KINDS
from refloop.analytics.metrics.pilot import Pilot, pilot_parse

UNITS = {"business_hours": 3600, "calendar_days": 86400}
PRIORITIES = ("routine", "urgent", "stat")
# Refloop's standard targets (hours for routine / urgent / stat; appointment in calendar days).
STANDARD = {
    "acknowledge": (8, 4, 1),
    "triage": (16, 8, 2),
    "first_contact": (24, 8, 2),
    "report": (40, 16, 8),
    "appointment": (21, 7, 2),
}


@dataclass(frozen=True)
class Program:
    targets: tuple[dict, ...]  # {service_line, priority, kind, amount, unit}
    goals: dict[str, float]
    closures: frozenset[dt.date]
    pilot: Pilot | None = None

    def targets_frame(self, service_lines: list[str]) -> pl.DataFrame:
        """The targets as facts_build takes them, "*" spread over the file's service lines."""
        own = {(t["service_line"], t["priority"], t["kind"]) for t in self.targets}
        rows = []
        for t in self.targets:
            lines = [t["service_line"]]
            if t["service_line"] == "*":
                lines = [s for s in service_lines if (s, t["priority"], t["kind"]) not in own]
            for line in lines:
                rows.append(
                    {
                        "service_line": line,
                        "priority": t["priority"],
                        "kind": t["kind"],
                        "seconds": int(t["amount"] * UNITS[t["unit"]]),
                        "unit": t["unit"],
                    }
                )
        schema = {"service_line": pl.String, "priority": pl.String, "kind": pl.String,
                  "seconds": pl.Int64, "unit": pl.String}  # fmt: skip
        return pl.DataFrame(rows, schema=schema)


def program_standard() -> Program:
    targets = tuple(
        {
            "service_line": "*",
            "priority": priority,
            "kind": kind,
            "amount": amounts[index],
            "unit": "calendar_days" if kind == "appointment" else "business_hours",
        }
        for kind, amounts in STANDARD.items()
        for index, priority in enumerate(PRIORITIES)
    )
    return Program(targets=targets, goals={}, closures=frozenset())


def program_load(path: str | Path) -> Program:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise AuditError(f"Cannot read the program file {path}: {error.strerror}.") from None
    except json.JSONDecodeError as error:
        raise AuditError(f"The program file {path} is not JSON: {error}.") from None
    targets = raw.get("targets")
    standard = program_standard()
    checked = tuple(_target(t) for t in targets) if targets is not None else standard.targets
    try:
        closures = frozenset(dt.date.fromisoformat(d) for d in raw.get("closures", []))
        goals = {str(k): float(v) for k, v in (raw.get("goals") or {}).items()}
    except (TypeError, ValueError) as error:
        raise AuditError(f"The program file {path}: {error}.") from None
    try:
        pilot = pilot_parse(raw["pilot"]) if raw.get("pilot") else None
    except ValueError as error:
        raise AuditError(f"The program file {path}: {error}.") from None
    return Program(targets=checked, goals=goals, closures=closures, pilot=pilot)


def _target(raw: dict) -> dict:
    try:
        target = {
            "service_line": str(raw.get("service_line") or "*"),
            "priority": str(raw["priority"]),
            "kind": str(raw["kind"]),
            "amount": float(raw["amount"]),
            "unit": str(raw["unit"]),
        }
    except (KeyError, TypeError, ValueError) as error:
        raise AuditError(f"A target needs priority, kind, amount and unit: {raw}") from error
    if target["kind"] not in TARGET_KINDS or target["priority"] not in PRIORITIES:
        raise AuditError(f"Unknown target kind or priority: {raw}")
    if target["unit"] not in UNITS:
        raise AuditError(f"A target's unit is business_hours or calendar_days: {raw}")
    return target
