"""Domain errors reach API clients in the one error format, with the HTTP status they map to."""

import json

from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from desapresisi.errors import InvalidInput


class _Refusing(APIView):
    authentication_classes = []
    permission_classes = []
    throttle_classes = []

    def get(self, request):
        raise InvalidInput({"region": "Kode wilayah tidak valid", "bbox": ["a", "b"]})


def test_invalid_input_from_a_service_is_a_400_naming_each_field():
    response = _Refusing.as_view()(APIRequestFactory().get("/api/v1/anything/"))
    response.render()
    assert response.status_code == 400
    error = json.loads(response.content)["error"]
    assert error["status"] == 400 and error["code"] == "invalid"
    assert error["fields"] == {"region": "Kode wilayah tidak valid", "bbox": ["a", "b"]}
