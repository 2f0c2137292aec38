from django.urls import path

from refloop.web.views import content

urlpatterns = [
    path("", content.library, name="content_library"),
    path("new/", content.item_new, name="content_new"),
    path("<int:pk>/", content.item_detail, name="content_item"),
    path("<int:pk>/new-version/", content.item_version_new, name="content_version_new"),
    path("versions/<int:pk>/", content.version_detail, name="content_version"),
    path("versions/<int:pk>/edit/", content.version_edit_page, name="content_version_edit"),
    path("versions/<int:pk>/do/", content.version_transition, name="content_version_do"),
    path("check/", content.claims_live, name="content_claims_live"),
    path("review/", content.review_queue, name="content_review"),
    path("rules/", content.rules, name="content_rules"),
    path("rules/new/", content.rule_edit, name="content_rule_new"),
    path("rules/<int:pk>/", content.rule_edit, name="content_rule"),
]
