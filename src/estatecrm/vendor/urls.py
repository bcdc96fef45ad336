"""Mounted at settings/move-ins/ (config/urls.py): データ移行（他社CRM）, rule `vendor_migration`."""

from django.urls import path

from estatecrm.vendor import views

app_name = "vendor"
urlpatterns = [
    path("", views.home, name="home"),
    path("<id:move_in_id>/", views.move_in_detail, name="move-in"),
    path("<id:move_in_id>/status/", views.move_in_status, name="move-in-status"),
    path("<id:move_in_id>/verdict/", views.verdict, name="verdict"),
    path("<id:move_in_id>/<str:phase>/report/", views.report, name="report"),
    path("<id:move_in_id>/<str:phase>/report.csv", views.report_csv, name="report-csv"),
    path("<id:move_in_id>/<str:phase>/abort/", views.phase_abort, name="phase-abort"),
    path("<id:move_in_id>/<str:phase>/revert/", views.phase_revert, name="phase-revert"),
]
