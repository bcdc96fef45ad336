from django.urls import path

from estatecrm.crm import master_views as views

app_name = "masters"
urlpatterns = [
    path("ranks/", views.named_list, {"kind": "ranks"}, name="ranks"),
    path("ranks/<id:pk>/", views.named_edit, {"kind": "ranks"}, name="rank_edit"),
    path("tags/", views.named_list, {"kind": "tags"}, name="tags"),
    path("tags/<id:pk>/", views.named_edit, {"kind": "tags"}, name="tag_edit"),
    path("statuses/", views.status_list, name="statuses"),
    path("sub-statuses/<id:pk>/", views.sub_status_edit, name="sub_status_edit"),
    path("fields/", views.field_list, name="fields"),
    path("fields/<id:pk>/", views.field_edit, name="field_edit"),
    path("projects/", views.project_list, name="projects"),
    path("projects/<id:pk>/", views.project_edit, name="project_edit"),
    path("<str:kind>/<id:pk>/delete/", views.master_delete, name="delete"),
]
