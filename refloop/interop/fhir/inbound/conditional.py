"""Conditional create (If-None-Exist, or a transaction entry's request.ifNoneExist): we support
the one search a placer needs, its own identifier; the resend it recognises is a no-op."""

from __future__ import annotations

from urllib.parse import parse_qsl

from refloop.interop.fhir.inbound.problems import reject


def identifier_query(query: str) -> tuple[str | None, str]:
    """(system or None, value) from 'identifier=system|value' ('ServiceRequest?' may lead)."""
    text = query.split("?", 1)[1] if "?" in query else query
    params = parse_qsl(text, keep_blank_values=True)
    names = {name for name, _ in params}
    if names != {"identifier"} or len(params) != 1:
        reject(
            f"conditional create supports exactly one parameter, identifier; got '{query}'.",
            expression="ifNoneExist",
            code="not-supported",
        )
    token = params[0][1]
    if "|" in token:
        system, _, value = token.partition("|")
        if not value:
            reject("the identifier in ifNoneExist has no value.", expression="ifNoneExist")
        return system or None, value
    if not token:
        reject("the identifier in ifNoneExist has no value.", expression="ifNoneExist")
    return None, token
