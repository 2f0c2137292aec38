from django.urls import path

from refloop.web.views import inbox as views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/", views.inbox_document, name="inbox_document"),
    path("<int:pk>/pages.pdf", views.inbox_document_view, name="inbox_document_view"),
    path("<int:pk>/original/", views.inbox_document_original, name="inbox_document_original"),
    path("<int:pk>/split/", views.inbox_split, name="inbox_split"),
    path("<int:pk>/discard/", views.inbox_discard, name="inbox_discard"),
    path("parts/<int:pk>/pages.pdf", views.inbox_part_view, name="inbox_part_view"),
    path("parts/<int:pk>/file/", views.inbox_part_file, name="inbox_part_file"),
]
