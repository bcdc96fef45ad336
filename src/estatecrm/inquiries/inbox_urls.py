"""/inquiries/: 反響一覧 and 「取り込めなかった反響」 (rule `inquiry_inbox`)."""

from django.urls import path

from estatecrm.inquiries import inbox_views

app_name = "inbox"
urlpatterns = [
    path("", inbox_views.inquiry_list, name="list"),
    path("inbox/", inbox_views.inbox, name="inbox"),
    path("inbox/reread/", inbox_views.reread_all, name="reread"),
    path("<id:inquiry_id>/", inbox_views.inquiry_detail, name="detail"),
    path("<id:inquiry_id>/mail.eml", inbox_views.inquiry_raw, name="raw"),
    path("<id:inquiry_id>/assign/", inbox_views.inquiry_assign, name="assign"),
    path("<id:inquiry_id>/teach/", inbox_views.inquiry_teach, name="teach"),
    path("<id:inquiry_id>/dismiss/", inbox_views.inquiry_dismiss, name="dismiss"),
    path("<id:inquiry_id>/restore/", inbox_views.inquiry_restore, name="restore"),
]
