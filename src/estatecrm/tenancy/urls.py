from django.urls import path

from estatecrm.tenancy import views

app_name = "settings"
urlpatterns = [
    path("", views.home, name="home"),
    path("units/", views.unit_list, name="units"),
    path("units/new/", views.unit_create, name="unit_create"),
    path("units/<int:pk>/", views.unit_edit, name="unit_edit"),
    path("users/", views.user_list, name="users"),
    path("users/invite/", views.user_invite, name="user_invite"),
    path("users/<int:pk>/", views.user_detail, name="user"),
    path("users/<int:pk>/active/", views.user_set_active, name="user_set_active"),
    path("users/<int:pk>/invite/", views.user_resend_invitation, name="user_resend_invitation"),
    path("users/<int:pk>/memberships/", views.membership_add, name="membership_add"),
    path("memberships/<int:pk>/", views.membership_change, name="membership_change"),
    path("workgroups/", views.workgroup_list, name="workgroups"),
    path("workgroups/new/", views.workgroup_create, name="workgroup_create"),
    path("workgroups/<int:pk>/", views.workgroup_edit, name="workgroup_edit"),
]
