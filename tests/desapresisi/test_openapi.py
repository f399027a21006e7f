"""The schema names every error an operation can answer, each in the one error format."""

from __future__ import annotations

from drf_spectacular.generators import SchemaGenerator

ERROR_REF = "#/components/schemas/Error"


def _operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation, schema


def _error_ref(response: dict) -> str | None:
    return response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")


def test_every_error_answer_is_documented_in_the_one_error_format():
    seen = 0
    for path, method, operation, _schema in _operations():
        responses = operation["responses"]
        assert "429" in responses, (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        for code, response in responses.items():
            if int(code) >= 400:
                assert _error_ref(response) == ERROR_REF, (method, path, code)
                seen += 1
    assert seen > 50


def test_public_operations_do_not_claim_authentication_errors():
    operations = {(m, p): op for p, m, op, _ in _operations()}
    regions = operations[("get", "/api/v1/regions/")]["responses"]
    households = operations[("get", "/api/v1/households/")]["responses"]
    assert "401" not in regions and "403" not in regions
    assert {"400", "401", "403"} <= set(households)
