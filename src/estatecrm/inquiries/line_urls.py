from django.urls import path

from estatecrm.inquiries import line_views

app_name = "line"
urlpatterns = [
    # LINE's webhook: the URL an office enters in the LINE Developers console (docs/inquiries.md).
    path("hooks/line/<str:company_code>/", line_views.webhook, name="webhook"),
    path("cases/<id:case_id>/line/", line_views.send_text, name="send"),
]
