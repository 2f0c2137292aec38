from django.urls import path

from refloop.web.views import imports

urlpatterns = [
    path("", imports.import_index, name="imports"),
    path("sources/new/", imports.source_edit, name="imports_source_new"),
    path("sources/<int:pk>/", imports.source_edit, name="imports_source"),
    path("runs/<int:pk>/", imports.run_detail, name="imports_run"),
    path("runs/<int:pk>/resume/", imports.run_resume, name="imports_run_resume"),
    path("runs/<int:pk>/progress/", imports.run_progress, name="imports_run_progress"),
    path("rows/<int:pk>/", imports.quarantine_row, name="imports_row"),
    path("rows/<int:pk>/dismiss/", imports.quarantine_row_dismiss, name="imports_row_dismiss"),
    path("export/", imports.export, name="imports_export"),
]
