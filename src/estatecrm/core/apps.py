from django.apps import AppConfig
from django.urls import register_converter


class CoreConfig(AppConfig):
    name = "estatecrm.core"
    label = "core"

    def ready(self) -> None:
        from estatecrm.core.ids import IdConverter

        # Before any URLconf is loaded: every route names its ids with `id`, never `int`.
        register_converter(IdConverter, "id")
