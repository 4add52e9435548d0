"""Django alone, for a WSGI server. The web process is ASGI (``reflex_project.asgi``): the predict
endpoints are served there, beside Django, and a WSGI server answers them 404."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reflex_project.settings")
application = get_wsgi_application()

from reflex_project.production import refuse_development_secret_key  # noqa: E402

refuse_development_secret_key()
