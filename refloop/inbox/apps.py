from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "refloop.inbox"
    label = "inbox"
    verbose_name = "Document inbox"
