"""Read and search: a request's parameters checked against capability.SUPPORTED, run over what
the client may see, answered as a resource or a searchset Bundle with paging links."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Q

from refloop.core.errors import NotFound
from refloop.directory.models import Clinician, ClinicianRole, Organization, Patient
from refloop.interop.fhir.capability import COUNT_DEFAULT, COUNT_MAX, RESULT_PARAMS, SUPPORTED
from refloop.interop.fhir.params import BadParameter
from refloop.interop.fhir.queries import FILTERS, context_load
from refloop.interop.fhir.registry import KINDS
from refloop.interop.fhir.resources import Context, directory, referrals
from refloop.interop.fhir.scopes import scope_allows

FORMATS = ("json", "application/fhir+json", "xml", "application/fhir+xml")


@dataclass
class Search:
    """A search request, checked: filters to apply and what to page and include."""

    resource_type: str
    filters: list[Q] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)  # for the self link
    count: int = COUNT_DEFAULT
    offset: int = 0
    includes: tuple[str, ...] = ()


def search_parse(*, resource_type: str, params, lenient: bool) -> Search:
    """Check each parameter against the table; an unknown one is refused naming it (ignored,
    and left out of the self link, when the client asked for lenient handling)."""
    support = SUPPORTED[resource_type]
    known = {p.name for p in support.search}
    search = Search(resource_type)
    for name in params:
        values = params.getlist(name)
        if name == "_count":
            search.count = min(_whole(name, values[-1]), COUNT_MAX)
        elif name == "_offset":
            search.offset = _whole(name, values[-1])
        elif name == "_format":
            if any(v not in FORMATS for v in values):
                raise BadParameter(f"_format: one of {', '.join(FORMATS)}.")
        elif name == "_include":
            wanted = [v for v in values if v in support.includes]
            if len(wanted) < len(values) and not lenient:
                bad = next(v for v in values if v not in support.includes)
                raise BadParameter(
                    f"_include={bad} is not supported on {resource_type} "
                    f"(supported: {', '.join(support.includes) or 'none'})."
                )
            search.includes = tuple(wanted)
            search.kept += [(name, v) for v in wanted]
        elif name in known:
            for value in values:
                if value == "":
                    raise BadParameter(f"{name}: empty value.")
                search.filters.append(FILTERS[resource_type][name](value))
                search.kept.append((name, value))
        elif not lenient:
            raise BadParameter(
                f"Unknown or unsupported search parameter '{name}' for {resource_type} "
                f"(supported: {', '.join(sorted(known | set(RESULT_PARAMS)))})."
            )
    return search


def _whole(name: str, text: str) -> int:
    if not text.isdigit():
        raise BadParameter(f"{name}: {text!r} is not a whole number.")
    return int(text)


def search_bundle(*, client, search: Search, base_url: str) -> dict:
    kind = KINDS[search.resource_type]
    rows_q = kind.visible(client).filter(*search.filters).order_by("pk")
    total = rows_q.count()
    rows = list(rows_q.select_related(*kind.related)[search.offset : search.offset + search.count])
    ctx = context_load(resource_type=search.resource_type, rows=rows, base_url=base_url)
    entries = [_entry(kind.render(row, ctx), base_url, "match") for row in rows]
    included = [r for r in _included(search, rows, ctx) if _may_read(client, r["resourceType"])]
    entries += [_entry(r, base_url, "include") for r in included]
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": _links(search, total, base_url),
        "entry": entries,
    }


def _may_read(client, resource_type: str) -> bool:
    # An _include is a read of another type: the client's scopes must allow that type too.
    scopes = getattr(client, "granted", client.scopes)
    return scope_allows(scopes=scopes, resource_type=resource_type, interaction="read")


def _entry(resource: dict, base_url: str, mode: str) -> dict:
    return {
        "fullUrl": f"{base_url}/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
        "search": {"mode": mode},
    }


def _links(search: Search, total: int, base_url: str) -> list[dict]:
    def url(offset: int) -> str:
        query = search.kept + [("_count", str(search.count)), ("_offset", str(offset))]
        return f"{base_url}/{search.resource_type}?{urlencode(query)}"

    links = [{"relation": "self", "url": url(search.offset)}]
    if search.count and search.offset + search.count < total:
        links.append({"relation": "next", "url": url(search.offset + search.count)})
    if search.offset > 0:
        links.append({"relation": "previous", "url": url(max(search.offset - search.count, 0))})
    return links


def _included(search: Search, rows: list, ctx: Context) -> list[dict]:
    """The patients and requesters of a ServiceRequest page, one query per referenced type.
    They are visible to the client by definition: its own referrals reference them."""
    found: list[dict] = []
    if "ServiceRequest:patient" in search.includes and rows:
        patients = Patient.objects.filter(pk__in={r.patient_id for r in rows}).order_by("pk")
        found += [directory.patient(p, ctx) for p in patients]
    if "ServiceRequest:requester" in search.includes and rows:
        wanted: dict[str, set[int]] = {}
        for row in rows:
            reference = (referrals.requester(row, ctx) or {}).get("reference")
            if reference:
                kind, _, pk = reference.partition("/")
                wanted.setdefault(kind, set()).add(int(pk))
        for kind, (model, render) in REQUESTER_TYPES.items():
            if wanted.get(kind):
                found += [
                    render(r, ctx) for r in model.objects.filter(pk__in=wanted[kind]).order_by("pk")
                ]
    return found


REQUESTER_TYPES = {
    "PractitionerRole": (ClinicianRole, directory.practitioner_role),
    "Practitioner": (Clinician, directory.practitioner),
    "Organization": (Organization, directory.organization),
}


def resource_row(*, client, resource_type: str, resource_id: str):
    """The row behind Type/id if the client may see it; else NotFound (whether or not it exists)."""
    kind = KINDS[resource_type]
    if not resource_id.isdigit():
        raise NotFound(f"{resource_type}/{resource_id} is not known.")
    row = kind.visible(client).filter(pk=int(resource_id)).select_related(*kind.related).first()
    if row is None:
        raise NotFound(f"{resource_type}/{resource_id} is not known.")
    return row


def resource_read(*, client, resource_type: str, resource_id: str, base_url: str) -> dict:
    row = resource_row(client=client, resource_type=resource_type, resource_id=resource_id)
    ctx = context_load(resource_type=resource_type, rows=[row], base_url=base_url)
    return KINDS[resource_type].render(row, ctx)
