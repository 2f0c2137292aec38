"""SMART scopes: what a client may do with each resource type. SMART v2 writes
`system/ServiceRequest.rs` (c create, r read, u update, d delete, s search); v1's
`system/*.read` and `system/*.write` are accepted as rs and cud."""

from __future__ import annotations

from refloop.core.errors import NotAllowed

V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
INTERACTION_LETTER = {"create": "c", "read": "r", "update": "u", "delete": "d", "search": "s"}


def scopes_parse(text: str) -> dict[str, set[str]]:
    """{resource type or '*': permission letters} from the system/ scopes in `text`; other
    contexts (patient/, user/) and unknown forms grant nothing."""
    granted: dict[str, set[str]] = {}
    for scope in text.split():
        context, _, rest = scope.partition("/")
        resource, _, permissions = rest.partition(".")
        if context != "system" or not resource or not permissions:
            continue
        permissions = permissions.split("?", 1)[0]  # v2 query suffixes are not supported
        letters = V1_PERMISSIONS.get(permissions, permissions)
        if not set(letters) <= set("cruds"):
            continue
        granted.setdefault(resource, set()).update(letters)
    return granted


def scope_allows(*, scopes: str, resource_type: str, interaction: str) -> bool:
    granted = scopes_parse(scopes)
    letter = INTERACTION_LETTER[interaction]
    return letter in granted.get(resource_type, set()) | granted.get("*", set())


def scope_require(*, client, resource_type: str, interaction: str) -> None:
    """Refuse (403) an interaction the client's granted scopes do not cover. `client.granted`
    is set by authentication: the access token's scopes, or the API key's client scopes."""
    scopes = getattr(client, "granted", client.scopes)
    if not scope_allows(scopes=scopes, resource_type=resource_type, interaction=interaction):
        raise NotAllowed(f"The client's scopes do not allow {interaction} on {resource_type}.")


def scopes_grant(*, requested: str, allowed: str) -> str:
    """The requested scopes that the client's registered scopes cover, in the requested order
    (a token never carries more than the client was registered for)."""
    allowed_map = scopes_parse(allowed)
    kept = []
    for scope in requested.split():
        asked = scopes_parse(scope)
        if not asked:
            continue
        ((resource, letters),) = asked.items()
        have = allowed_map.get(resource, set()) | allowed_map.get("*", set())
        if resource == "*" and not letters <= allowed_map.get("*", set()):
            continue
        if letters <= have:
            kept.append(scope)
    return " ".join(kept)
