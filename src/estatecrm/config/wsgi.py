"""WSGI entry point for gunicorn (`estatecrm serve`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "estatecrm.config.settings.base")
application = get_wsgi_application()
