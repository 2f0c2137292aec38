"""Bytes to a validated FHIR R4B resource, JSON or XML; every failure named with its place."""

from __future__ import annotations

import json

from fhir.resources.R4B import get_fhir_model_class
from lxml import etree
from pydantic import ValidationError

from refloop.core.text import NUL
from refloop.interop.fhir.inbound.problems import Issue, Rejected, fhirpath, reject

JSON_TYPES = {"application/fhir+json", "application/json", "application/json+fhir"}
XML_TYPES = {"application/fhir+xml", "application/xml", "text/xml", "application/xml+fhir"}
FHIR_NS = "http://hl7.org/fhir"


def body_format(*, content_type: str, body: bytes) -> str:
    """'json' or 'xml' from the Content-Type; a client that sent none is read by its first byte."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in JSON_TYPES:
        return "json"
    if media in XML_TYPES:
        return "xml"
    if not media:
        first = body.lstrip()[:1]
        if first in (b"{", b"<"):
            return "json" if first == b"{" else "xml"
    reject(
        f"Content-Type '{media or '(none)'}' is not supported: send application/fhir+json or "
        "application/fhir+xml.",
        code="not-supported",
        status=415,
    )


def resource_parse(*, body: bytes, content_type: str):
    """The resource as a fhir.resources R4B model. Refused with 400 when it cannot be read or is
    not valid FHIR, naming each place the model refused."""
    if not body.strip():
        reject("The request has no body.", code="required", status=400)
    if body_format(content_type=content_type, body=body) == "json":
        return _json_parse(body)
    return _xml_parse(body)


def _model_class(resource_type: str, where: str):
    try:
        return get_fhir_model_class(resource_type)
    except ValueError:
        reject(
            f"'{resource_type}' is not a FHIR resource type.",
            expression=where,
            code="structure",
            status=400,
        )


def _json_parse(body: bytes):
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        reject(f"The body is not JSON: {exc}.", code="structure", status=400)
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        reject(
            "A FHIR resource is a JSON object with a resourceType.", code="structure", status=400
        )
    resource_type = data["resourceType"]
    model = _model_class(resource_type, "resourceType")
    if b"\\u0000" in body:  # how JSON writes a NUL (a bare one is not JSON at all)
        _nul_refuse(data, resource_type)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(resource_type, exc) from exc


def _nul_refuse(data: dict, resource_type: str) -> None:
    """FHIR strings carry no NUL character (nor could PostgreSQL store one): refused by place."""
    where = _nul_place(data, ())
    if where is not None:
        reject(
            "A string holds a NUL character (U+0000), which FHIR strings cannot carry.",
            expression=fhirpath(resource_type, where),
            code="value",
            status=400,
        )


def _nul_place(value, path: tuple) -> tuple | None:
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        parts = value.items()
    elif isinstance(value, list):
        parts = enumerate(value)
    else:
        return None
    for key, item in parts:
        if isinstance(key, str) and NUL in key:
            return (*path, key.replace(NUL, "\\u0000"))
        found = _nul_place(item, (*path, key))
        if found is not None:
            return found
    return None


def _xml_parse(body: bytes):
    try:
        root = etree.fromstring(
            body, parser=etree.XMLParser(resolve_entities=False, no_network=True)
        )
    except etree.XMLSyntaxError as exc:
        reject(f"The body is not well-formed XML: {exc}.", code="structure", status=400)
    name = etree.QName(root)
    if name.namespace != FHIR_NS:
        reject(
            f"The root element must be in the FHIR namespace {FHIR_NS}.",
            code="structure",
            status=400,
        )
    model = _model_class(name.localname, name.localname)
    try:
        return model.model_validate_xml(body)
    except ValidationError as exc:
        raise _invalid(name.localname, exc) from exc
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        # fhir.resources' XML reader fails with a bare KeyError on an element the model lacks.
        reject(
            f"Not valid FHIR R4 XML: unexpected element or value {exc}.",
            expression=name.localname,
            code="structure",
            status=400,
        )


def _invalid(resource_type: str, exc: ValidationError) -> Rejected:
    issues = [
        Issue(
            code="structure" if error["type"] == "extra_forbidden" else "value",
            diagnostics=_message(error),
            expression=fhirpath(resource_type, tuple(error["loc"])),
        )
        for error in exc.errors()[:20]
    ]
    return Rejected(*issues, status=400)


def _message(error: dict) -> str:
    if error["type"] == "extra_forbidden":
        return "not an element of this resource in FHIR R4."
    if error["type"] == "missing":
        return "required element missing."
    return error["msg"].removeprefix("Value error, ")
