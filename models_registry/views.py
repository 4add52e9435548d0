from rest_framework.request import Request
from rest_framework.response import Response

from models_registry import selectors, services
from models_registry.serializers import model_object
from reflex_project.api.pagination import list_envelope
from reflex_project.api.views import ApiView


class ModelListView(ApiView):
    def get(self, request: Request) -> Response:
        views = selectors.list_models(account=request.auth.account)
        return Response(list_envelope([model_object(view) for view in views]))


class ModelDetailView(ApiView):
    def get(self, request: Request, model: str) -> Response:
        view = selectors.get_model(account=request.auth.account, name=model)
        return Response(model_object(view, with_versions=True))

    def delete(self, request: Request, model: str) -> Response:
        deleted = services.delete_model(account=request.auth.account, name=model)
        return Response({"id": deleted, "object": "model", "deleted": True})
