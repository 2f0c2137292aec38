from django.apps import AppConfig


class ContentConfig(AppConfig):
    name = "refloop.content"
    verbose_name = "Content library and compliance review"
