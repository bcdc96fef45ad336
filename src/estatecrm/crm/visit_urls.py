from django.urls import path

from estatecrm.crm import visit_views

app_name = "visits"
urlpatterns = [
    path("", visit_views.calendar, name="calendar"),
    path("new/", visit_views.visit_new, name="new"),
    path("<id:activity_id>/", visit_views.visit_detail, name="detail"),
    path("<id:activity_id>/move/", visit_views.visit_move, name="move"),
    path("<id:activity_id>/complete/", visit_views.visit_complete, name="complete"),
    path("<id:activity_id>/cancel/", visit_views.visit_cancel, name="cancel"),
]
