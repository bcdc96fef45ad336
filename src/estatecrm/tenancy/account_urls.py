from django.urls import path

from estatecrm.tenancy import account_views as views

app_name = "account"
urlpatterns = [
    path("", views.home, name="home"),
    path("unit/", views.acting_unit, name="acting_unit"),
    path("notifications/", views.notifications, name="notifications"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
