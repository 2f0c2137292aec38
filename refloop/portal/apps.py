from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "refloop.portal"
    verbose_name = "Pages for patients and referring offices (no login)"
