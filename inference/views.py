from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference import services
from inference.validation import parse_model_names, parse_text
from reflex_project.api.json_body import read_json_object
from reflex_project.api.throttling import PredictThrottle


class PredictView(APIView):
    throttle_classes = [PredictThrottle]

    def post(self, request: Request) -> Response:
        body = read_json_object(request)
        model, models = parse_model_names(body)
        text = parse_text(body)
        account = request.auth.account
        if models is not None:
            return Response(services.predict_many_models(account=account, models=models, text=text))
        return Response(services.predict(account=account, model=model, text=text))
