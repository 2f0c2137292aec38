from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "refloop.interop.files"
    label = "files"
    verbose_name = "File import and export"
