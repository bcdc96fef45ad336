from django.urls import path

from estatecrm.tenancy import token_views

app_name = "tokens"
urlpatterns = [
    path("", token_views.token_list_view, name="list"),
    path("new/", token_views.token_create_view, name="create"),
    path("<id:token_id>/revoke/", token_views.token_revoke_view, name="revoke"),
]
