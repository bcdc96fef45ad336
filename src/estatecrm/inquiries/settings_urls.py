from django.urls import path

from estatecrm.inquiries import settings_views as views

app_name = "inquiry_settings"
urlpatterns = [
    path("", views.source_list, name="sources"),
    path("sources/new/", views.source_create, name="source_create"),
    path("sources/<id:source_id>/", views.source_edit, name="source_edit"),
    path("sources/<id:source_id>/enabled/", views.source_set_enabled, name="source_set_enabled"),
    path("line/", views.line_channel, name="line"),
]
