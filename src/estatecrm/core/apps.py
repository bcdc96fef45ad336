from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "estatecrm.core"
    label = "core"
