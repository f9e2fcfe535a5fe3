from django.apps import AppConfig
from django.urls import register_converter


class KintsugiConfig(AppConfig):
    """The project's shared plumbing, registered before any URLconf is read."""

    name = "config"
    label = "kintsugi"

    def ready(self):
        from config.validation import IdConverter

        # Ids in page paths (<id:pk>): ASCII digits within 64 bits, so a longer number is a 404, not an overflow.
        register_converter(IdConverter, "id")
