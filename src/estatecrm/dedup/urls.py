"""/dedup/: 名寄せ候補, the merge wizard, 名寄せ履歴 (rule `dedup`), shared numbers (`dedup_shared`), settings (`dedup_settings`)."""

from django.urls import path

from estatecrm.dedup import views

app_name = "dedup"
urlpatterns = [
    path("", views.candidate_list, name="candidates"),
    path("dismiss/", views.dismiss_pair, name="dismiss"),
    path("dismissals/<id:dismissal_id>/undo/", views.undo_dismissal, name="undo_dismissal"),
    path("merge/", views.merge_start, name="merge"),
    path("merge/confirm/", views.merge_confirm, name="merge_confirm"),
    path("merge/run/", views.merge_run, name="merge_run"),
    path("merges/", views.merge_list, name="merges"),
    path("merges/<id:merge_id>/undo/", views.merge_undo, name="merge_undo"),
    path("shared/", views.shared_values, name="shared"),
    path("settings/", views.duplicate_settings, name="settings"),
]
