from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "refloop.core"
    label = "core"
    verbose_name = "Refloop core"

    def ready(self):
        # Roles are set-up data, not business logic: like Django's own permissions they are
        # brought in line with the code after every migrate.
        from refloop.core import (
            append_only,  # noqa: F401  (registers the SQLite function)
            bulk,  # noqa: F401  (registers the any_of lookup)
        )
        from refloop.core.roles import roles_sync

        post_migrate.connect(lambda **kwargs: roles_sync(), weak=False, dispatch_uid="roles_sync")
