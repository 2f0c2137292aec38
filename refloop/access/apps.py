from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "refloop.access"
    label = "access"

    def ready(self):
        from refloop.access import checks  # noqa: F401  (registers the start-up checks)
