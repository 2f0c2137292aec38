"""A refusal that names the exact problem: an OperationOutcome issue with a FHIRPath expression."""

from __future__ import annotations

from dataclasses import dataclass

from refloop.core.errors import DomainError


@dataclass(frozen=True)
class Issue:
    code: str  # FHIR issue-type: invalid, structure, required, value, not-supported, not-found...
    diagnostics: str
    expression: str = ""


class Rejected(DomainError):
    """What a client sent is refused. 400: not valid FHIR (cannot be parsed, fails the R4B
    model); 422: valid FHIR that breaks one of our rules; 405/415/501: not supported here."""

    status = 422
    code = "rejected"

    def __init__(self, *issues: Issue, status: int = 422):
        super().__init__(" ".join(_line(issue) for issue in issues))
        self.issues = list(issues)
        self.status = status


def reject(diagnostics: str, *, expression: str = "", code: str = "value", status: int = 422):
    raise Rejected(Issue(code=code, diagnostics=diagnostics, expression=expression), status=status)


def _line(issue: Issue) -> str:
    return f"{issue.expression}: {issue.diagnostics}" if issue.expression else issue.diagnostics


def fhirpath(root: str, loc: tuple) -> str:
    """A pydantic error location as FHIRPath: ('entry', 2, 'resource', 'subject') under Bundle
    becomes Bundle.entry[2].resource.subject."""
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{str(part).removesuffix('__ext').removesuffix('_fhir')}"
    return path
