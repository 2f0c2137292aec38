from django.apps import AppConfig


class RelationsConfig(AppConfig):
    name = "refloop.relations"
    verbose_name = "Referrer relationships (territories, standings, target lists)"
