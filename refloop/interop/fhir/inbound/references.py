"""References inside what a client sent, resolved the way FHIR resolves them in a Bundle: by
fullUrl (urn:uuid:... or absolute), by Type/id against the entries, and '#id' to a contained
resource. Every resource knows its FHIRPath, so a problem can name its exact place."""

from __future__ import annotations

from dataclasses import dataclass, field

from refloop.interop.fhir.inbound.problems import reject


@dataclass
class Found:
    resource: object
    path: str  # e.g. Bundle.entry[2].resource or ServiceRequest.contained[0]
    entry: int | None = None  # the Bundle entry index, when it came from one


@dataclass
class Resources:
    """The resources a request carries (Bundle entries, or one resource and its contained)."""

    found: list[Found] = field(default_factory=list)
    _by_url: dict[str, Found] = field(default_factory=dict)
    _by_type_id: dict[str, Found] = field(default_factory=dict)
    _contained: dict[tuple[int, str], Found] = field(default_factory=dict)
    _used: set[int] = field(default_factory=set)

    @classmethod
    def of_bundle(cls, bundle) -> Resources:
        resources = cls()
        for index, entry in enumerate(bundle.entry or ()):
            if entry.resource is None:
                reject(
                    "Each entry needs a resource.",
                    expression=f"Bundle.entry[{index}]",
                    code="required",
                )
            found = Found(entry.resource, f"Bundle.entry[{index}].resource", index)
            resources._add(found, full_url=entry.fullUrl or "")
        return resources

    @classmethod
    def of_resource(cls, resource) -> Resources:
        resources = cls()
        resources._add(Found(resource, resource.get_resource_type()), full_url="")
        return resources

    def _add(self, found: Found, *, full_url: str) -> None:
        self.found.append(found)
        resource = found.resource
        kind = resource.get_resource_type()
        if full_url:
            self._by_url[full_url] = found
            tail = "/".join(full_url.rstrip("/").split("/")[-2:])
            if tail.startswith(f"{kind}/"):
                self._by_type_id.setdefault(tail, found)
        if resource.id:
            self._by_type_id.setdefault(f"{kind}/{resource.id}", found)
        for n, inner in enumerate(getattr(resource, "contained", None) or ()):
            if inner.id:
                self._contained[(id(resource), inner.id)] = Found(
                    inner, f"{found.path}.contained[{n}]"
                )

    def of_type(self, *kinds: str) -> list[Found]:
        """Resources of these types, sent or contained."""
        every = [*self.found, *self._contained.values()]
        return [f for f in every if f.resource.get_resource_type() in kinds]

    def path(self, resource) -> str:
        for found in self.found:
            if found.resource is resource:
                return found.path
        for found in self._contained.values():
            if found.resource is resource:
                return found.path
        return resource.get_resource_type()

    def resolve(self, reference, *, owner, at: str, kinds: tuple[str, ...], required: bool = False):
        """The resource `reference` (a Reference element of `owner`) points at, or None when
        there is no reference; a reference that points outside what was sent, or at the wrong
        type, is refused when `required` (the referral cannot be understood without it)."""
        if reference is None or not reference.reference:
            if required:
                reject(
                    f"a reference to a {' or '.join(kinds)} is required.",
                    expression=at,
                    code="required",
                )
            return None
        text = reference.reference
        found = self._lookup(text, owner)
        if found is None:
            if not required:
                return None
            reject(
                f"reference {text} not found in the {'Bundle' if self._by_url else 'request'}: "
                f"include the {' or '.join(kinds)} it points at (we keep no copies of other "
                "servers' resources).",
                expression=at,
                code="not-found",
            )
        kind = found.resource.get_resource_type()
        if kind not in kinds:
            reject(
                f"reference {text} is a {kind}; expected {' or '.join(kinds)}.",
                expression=at,
                code="value",
            )
        self._used.add(id(found.resource))
        return found.resource

    def _lookup(self, text: str, owner) -> Found | None:
        if text.startswith("#"):
            return self._contained.get((id(owner), text[1:]))
        if text in self._by_url:
            return self._by_url[text]
        tail = "/".join(text.split("/_history/")[0].rstrip("/").split("/")[-2:])
        return self._by_type_id.get(tail)
