"""Mounted at settings/units/<id:unit_id>/onboarding/migration/ (config/urls.py)."""

from django.urls import path

from estatecrm.legacy import views

app_name = "legacy"
urlpatterns = [
    path("", views.home, name="home"),
    path("upload/", views.upload, name="upload"),
    path("upload/discard/", views.discard, name="discard"),
    path("upload/recompute/", views.recompute, name="recompute"),
    path("upload/<str:upload_token>/status/", views.upload_status, name="upload-status"),
    path("masters/", views.masters, name="masters"),
    path("full/", views.full, name="full"),
    path("quick/", views.quick, name="quick"),
    path("runs/", views.runs, name="runs"),
    path("runs/<id:run_id>/", views.run_detail, name="run"),
    path("runs/<id:run_id>/status/", views.run_status, name="run-status"),
    path("runs/<id:run_id>/abort/", views.run_abort, name="run-abort"),
    path("runs/<id:run_id>/revert/", views.run_revert, name="run-revert"),
    path("runs/<id:run_id>/report.csv", views.run_report, name="run-report"),
    path("runs/<id:run_id>/migrated-ids.csv", views.run_migrated_ids, name="run-migrated-ids"),
    path("runs/<id:run_id>/cases/", views.run_cases, name="run-cases"),
]
