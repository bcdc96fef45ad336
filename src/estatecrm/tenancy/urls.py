from django.urls import path

from estatecrm.tenancy import views

app_name = "settings"
urlpatterns = [
    path("", views.home, name="home"),
    path("units/", views.unit_list, name="units"),
    path("units/new/", views.unit_create, name="unit_create"),
    path("units/<id:pk>/", views.unit_edit, name="unit_edit"),
    path("users/", views.user_list, name="users"),
    path("users/invite/", views.user_invite, name="user_invite"),
    path("users/<id:pk>/", views.user_detail, name="user"),
    path("users/<id:pk>/active/", views.user_set_active, name="user_set_active"),
    path("users/<id:pk>/mail-from/", views.user_mail_from, name="user_mail_from"),
    path("users/<id:pk>/invite/", views.user_resend_invitation, name="user_resend_invitation"),
    path("users/<id:pk>/memberships/", views.membership_add, name="membership_add"),
    path("memberships/<id:pk>/", views.membership_change, name="membership_change"),
    path("workgroups/", views.workgroup_list, name="workgroups"),
    path("workgroups/new/", views.workgroup_create, name="workgroup_create"),
    path("workgroups/<id:pk>/", views.workgroup_edit, name="workgroup_edit"),
]
