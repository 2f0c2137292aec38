"""The gift ledger (/gifts/): refloop.web.views.gifts."""

from django.urls import path

from refloop.web.views import gifts

urlpatterns = [
    path("", gifts.gift_ledger, name="gifts"),
    path("physicians/<int:clinician_id>/", gifts.gift_physician, name="gift_physician"),
    path("items/", gifts.gift_items, name="gift_items"),
    path("items/new/", gifts.gift_new, name="gift_new"),
    path("items/<int:item_id>/", gifts.gift_item, name="gift_item"),
    path("items/<int:item_id>/approve/", gifts.gift_approve, name="gift_approve"),
    path("items/<int:item_id>/given/", gifts.gift_given, name="gift_given"),
    path("items/<int:item_id>/cancel/", gifts.gift_cancel, name="gift_cancel"),
    path("approvals/", gifts.gift_approvals, name="gift_approvals"),
    path("cures/", gifts.gift_cures, name="gift_cures"),
    path("cures/<int:cure_id>/repay/", gifts.gift_cure_repay, name="gift_cure_repay"),
    path("limits/", gifts.gift_limits, name="gift_limits"),
]
