from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from estatecrm.config.api import api

# Django admin is for superusers only: a staff flag alone does not open it.
admin.site.has_permission = lambda request: request.user.is_active and request.user.is_superuser

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("cases/", include("estatecrm.crm.urls")),
    path("visits/", include("estatecrm.crm.visit_urls")),
    path("imports/", include("estatecrm.leads.urls")),
    path("listings/", include("estatecrm.listings.urls")),
    path("feeds/listings/", include("estatecrm.listings.feed_urls")),
    path("inquiries/", include("estatecrm.inquiries.inbox_urls")),
    path("dedup/", include("estatecrm.dedup.urls")),
    path("staff/", include("estatecrm.staff.urls")),
    path("settings/masters/", include("estatecrm.crm.master_urls")),
    path("settings/inquiries/", include("estatecrm.inquiries.settings_urls")),
    path("settings/listings-feed/", include("estatecrm.listings.settings_urls")),
    path("settings/units/<id:unit_id>/onboarding/migration/", include("estatecrm.legacy.urls")),
    path("settings/move-ins/", include("estatecrm.vendor.urls")),
    path("settings/", include("estatecrm.tenancy.urls")),
    path("account/", include("estatecrm.tenancy.account_urls")),
    path("account/tokens/", include("estatecrm.tenancy.token_urls")),
    # LINE: the webhook /hooks/line/<company code>/ and a case's 「LINEを送る」 /cases/<id>/line/.
    path("", include("estatecrm.inquiries.line_urls")),
    path("", include("estatecrm.web.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
