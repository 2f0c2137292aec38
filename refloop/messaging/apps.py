from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "refloop.messaging"
    verbose_name = "Messages to patients and referrers"
