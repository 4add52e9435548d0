import os

from django.core.asgi import get_asgi_application

from reflex_project.daphne_requests import skip_form_parsing

skip_form_parsing()  # under daphne: bodies reach the application as sent (reflex_project/daphne_requests.py)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reflex_project.settings")
django_asgi_app = get_asgi_application()

from reflex_project.production import refuse_development_secret_key  # noqa: E402

refuse_development_secret_key()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from inference import asgi_predict  # noqa: E402


async def http_application(scope, receive, send):
    """The predict endpoints skip Django's request cycle (inference/asgi_predict.py); the rest is Django."""
    if scope["path"] in asgi_predict.ROUTES:
        return await asgi_predict.application(scope, receive, send)
    return await django_asgi_app(scope, receive, send)


application = ProtocolTypeRouter({"http": http_application})

from inference.warmup import warm_in_background  # noqa: E402

warm_in_background()  # the first prediction should not pay for loading the encoder
