"""The project's URLs plus one view that fails, for the 500 page test."""

from django.urls import path

from estatecrm.config.urls import urlpatterns as project_urlpatterns


def broken(request):
    raise RuntimeError("a bug")


urlpatterns = [path("broken/", broken), *project_urlpatterns]
