"""/settings/listings-feed/: the listings feed's URLs, its key and whether it answers (rule `listings_feed`)."""

from django.urls import path

from estatecrm.listings import views

app_name = "listings_feed_settings"
urlpatterns = [
    path("", views.feed_settings, name="home"),
    path("create/", views.feed_create, name="create"),
    path("rotate/", views.feed_rotate, name="rotate"),
    path("enabled/", views.feed_set_enabled, name="enabled"),
]
