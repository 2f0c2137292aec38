from django.urls import path

from refloop.web.views import interfaces

urlpatterns = [
    path("", interfaces.message_list, name="interfaces"),
    path("hl7/<int:pk>/", interfaces.message_detail, name="hl7_message"),
    path("hl7/<int:pk>/replay/", interfaces.message_replay_view, name="hl7_message_replay"),
    path("merges/", interfaces.merge_list, name="hl7_merges"),
    path("merges/<int:pk>/decide/", interfaces.merge_decide, name="hl7_merge_decide"),
]
