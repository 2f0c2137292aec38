from django.urls import path

from refloop.portal import views_refer

urlpatterns = [
    path("", views_refer.refer_index, name="refer"),
    path("<str:line>/", views_refer.refer_line, name="refer_line"),
    path("<str:line>/service-sheet.pdf", views_refer.refer_sheet, name="refer_sheet"),
    path("<str:line>/referral-packet.pdf", views_refer.refer_packet, name="refer_packet"),
    path("<str:line>/new/", views_refer.refer_new, name="refer_new"),
    path("<str:line>/thanks/", views_refer.refer_thanks, name="refer_thanks"),
]
