from django.urls import path

from estatecrm.crm import master_views as views

app_name = "masters"
urlpatterns = [
    path("ranks/", views.named_list, {"kind": "ranks"}, name="ranks"),
    path("ranks/<int:pk>/", views.named_edit, {"kind": "ranks"}, name="rank_edit"),
    path("tags/", views.named_list, {"kind": "tags"}, name="tags"),
    path("tags/<int:pk>/", views.named_edit, {"kind": "tags"}, name="tag_edit"),
    path("statuses/", views.status_list, name="statuses"),
    path("sub-statuses/<int:pk>/", views.sub_status_edit, name="sub_status_edit"),
    path("fields/", views.field_list, name="fields"),
    path("fields/<int:pk>/", views.field_edit, name="field_edit"),
    path("projects/", views.project_list, name="projects"),
    path("projects/<int:pk>/", views.project_edit, name="project_edit"),
    path("<str:kind>/<int:pk>/delete/", views.master_delete, name="delete"),
]
