from django.urls import path

from estatecrm.leads import views

app_name = "leads"
urlpatterns = [
    path("", views.import_list, name="list"),
    path("new/", views.import_new, name="new"),
    path("new/mapping/", views.import_mapping, name="mapping"),
    path("template.csv", views.sample_template, name="template"),
    path("mappings/", views.mapping_list, name="mappings"),
    path("mappings/<id:mapping_id>/delete/", views.mapping_delete, name="mapping-delete"),
    path("do-not-call/", views.dnc_list, name="dnc"),
    path("do-not-call/export.csv", views.dnc_export, name="dnc-export"),
    path("do-not-call/<id:entry_id>/remove/", views.dnc_remove, name="dnc-remove"),
    path("<id:run_id>/", views.import_detail, name="detail"),
    path("<id:run_id>/abort/", views.import_abort, name="abort"),
    path("<id:run_id>/failed-rows/", views.failed_rows, name="failed-rows"),
    path("<id:run_id>/revert/", views.import_revert, name="revert"),
]
