from django.apps import AppConfig


class InteropConfig(AppConfig):
    """Interfaces to other systems: providers' webhooks now; FHIR, HL7 v2 and files with issue 4."""

    name = "refloop.interop"
