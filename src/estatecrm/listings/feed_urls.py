"""/feeds/listings/<key>.json and .xml: the company's listings feed (public; the key is the capability)."""

from django.urls import path

from estatecrm.listings import views

app_name = "listings_feed"
urlpatterns = [
    path("<str:key>.json", views.listings_feed, {"feed_format": "json"}, name="json"),
    path("<str:key>.xml", views.listings_feed, {"feed_format": "xml"}, name="xml"),
]
