from django.apps import AppConfig


class GiftsConfig(AppConfig):
    name = "refloop.gifts"
    verbose_name = "Gifts and non-monetary compensation"
