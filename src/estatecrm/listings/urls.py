from django.urls import path

from estatecrm.listings import views

app_name = "listings"
urlpatterns = [
    path("", views.listing_list, name="list"),
    path("new/", views.listing_new, name="new"),
    path("<id:listing_id>/", views.listing_detail, name="detail"),
    path("<id:listing_id>/edit/", views.listing_edit, name="edit"),
    path("<id:listing_id>/photos/", views.photo_upload, name="photo-upload"),
    path("<id:listing_id>/photos/<id:photo_id>/", views.photo_download, name="photo"),
    path("<id:listing_id>/photos/<id:photo_id>/remove/", views.photo_remove, name="photo-remove"),
    path("cases/<id:case_id>/introduce/", views.introduce, name="introduce"),
    path("cases/<id:case_id>/introductions/<id:introduction_id>/reaction/", views.reaction, name="reaction"),
]
