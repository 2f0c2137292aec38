from django.urls import path, re_path

from refloop.interop.fhir import views

urlpatterns = [
    path("", views.base, name="fhir_base"),
    path("metadata", views.metadata, name="fhir_metadata"),
    path(".well-known/smart-configuration", views.smart_configuration, name="fhir_smart_config"),
    path("auth/token", views.token, name="fhir_token"),
    path("$process-message", views.process_message, name="fhir_process_message"),
    re_path(r"^(?P<resource_type>[A-Z][A-Za-z]+)$", views.type_endpoint, name="fhir_type"),
    re_path(
        r"^(?P<resource_type>[A-Z][A-Za-z]+)/(?P<resource_id>[A-Za-z0-9\-.]{1,64})$",
        views.instance,
        name="fhir_instance",
    ),
]
