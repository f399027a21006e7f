import json
import math

import pytest
from django.contrib.gis.gdal import DataSource
from django.contrib.gis.geos import GEOSGeometry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from villages.selectors import RegionFilter, RegionLimitExceeded, regions_geojson
from villages.services import regions_load

pytestmark = pytest.mark.django_db

GEOJSON = "application/geo+json"


def list_url() -> str:
    return reverse("api:region-list", kwargs={"version": "v1"})


def detail_url(code: str) -> str:
    return reverse("api:region-detail", kwargs={"version": "v1", "code": code})


def all_rows(client, **params) -> list[dict]:
    """Follow `next` to the end and return every row."""
    rows = []
    response = client.get(list_url(), params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        rows.extend(body["results"])
        if not body["next"]:
            return rows
        response = client.get(body["next"])


def geojson(client, url: str, **params) -> dict:
    response = client.get(url, {"format": "geojson", **params})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == GEOJSON
    return json.loads(response.content)


def vertex_count(collection: dict) -> int:
    return sum(
        len(ring)
        for feature in collection["features"]
        for polygon in feature["geometry"]["coordinates"]
        for ring in polygon
    )


# JSON list


def test_anonymous_visitor_can_list_regions(client):
    response = client.get(list_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_paging_through_villages_within_ppu_yields_54_distinct_in_code_order(client):
    rows = all_rows(client, level="desa", within="64.09", page_size=10)
    codes = [row["code"] for row in rows]
    assert len(codes) == 54
    assert codes == sorted(set(codes))
    assert all(code.startswith("64.09.") for code in codes)


def test_page_size_10_returns_ten_rows_and_a_next_cursor(client):
    body = client.get(list_url(), {"level": "desa", "page_size": 10}).json()
    assert len(body["results"]) == 10
    assert "cursor=" in body["next"]
    assert body["previous"] is None


def test_parent_ppu_lists_its_four_kecamatan(client):
    rows = all_rows(client, parent="64.09")
    assert [row["code"] for row in rows] == ["64.09.01", "64.09.02", "64.09.03", "64.09.04"]
    assert {row["level"] for row in rows} == {"kecamatan"}


def test_kind_kelurahan_within_ppu_gives_24(client):
    rows = all_rows(client, kind="kelurahan", within="64.09")
    assert len(rows) == 24
    assert {row["kind"] for row in rows} == {"kelurahan"}


def test_within_excludes_the_area_itself(client):
    codes = {row["code"] for row in all_rows(client, within="64.09.01")}
    assert "64.09.01" not in codes
    assert len(codes) == 23


def test_q_matches_name_case_insensitively_or_code_prefix(client):
    by_name = {row["code"] for row in all_rows(client, q="sEpAkU")}
    assert "64.09.04" in by_name
    by_code = {row["code"] for row in all_rows(client, q="64.09.04")}
    assert "64.09.04" in by_code
    assert all(code.startswith("64.09.04") for code in by_code)


@pytest.mark.parametrize("q", ["%", "_", "'; DROP TABLE villages_region; --"])
def test_q_is_matched_literally_never_as_pattern_or_sql(client, q):
    assert all_rows(client, q=q) == []


def test_has_boundary_false_lists_only_the_province_in_ppu_scope(client):
    assert [row["code"] for row in all_rows(client, has_boundary="false")] == ["64"]
    with_boundary = all_rows(client, has_boundary="true")
    assert len(with_boundary) == 59
    assert all(row["has_boundary"] for row in with_boundary)


def test_list_row_has_documented_fields_with_point_inside_bbox(client):
    [row] = all_rows(client, q="64.09.01.2020")
    assert list(row) == [
        "code",
        "name",
        "level",
        "kind",
        "parent",
        "area_km2",
        "bps_code",
        "code_version",
        "has_boundary",
        "bbox",
        "centroid",
    ]
    assert row["parent"] == "64.09.01"
    assert row["has_boundary"] is True
    minx, miny, maxx, maxy = row["bbox"]
    lon, lat = row["centroid"]
    assert minx < lon < maxx
    assert miny < lat < maxy
    assert all(round(value, 6) == value for value in [*row["bbox"], *row["centroid"]])


def test_region_without_boundary_has_null_bbox_and_centroid(client):
    [row] = all_rows(client, level="province")
    assert row["has_boundary"] is False
    assert row["bbox"] is None
    assert row["centroid"] is None


def test_list_query_never_selects_the_polygon_column(client):
    with CaptureQueriesContext(connection) as queries:
        client.get(list_url(), {"level": "desa"})
    [sql] = [q["sql"] for q in queries.captured_queries if "villages_region" in q["sql"]]
    select_list = sql.split(" FROM ", 1)[0]
    assert '"villages_region"."boundary",' not in select_list
    assert not select_list.rstrip().endswith('"villages_region"."boundary"')


# Detail


def test_detail_has_children_count_and_boundary_source(client):
    response = client.get(detail_url("64.09.01"))
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == "64.09.01"
    assert body["name"] == "Penajam"
    assert body["level"] == "kecamatan"
    assert body["parent"] == "64.09"
    assert body["children_count"] == 23
    assert body["boundary_source"]
    assert len(body["bbox"]) == 4
    assert len(body["centroid"]) == 2


def test_village_detail_has_no_children(client):
    assert client.get(detail_url("64.09.01.2020")).json()["children_count"] == 0


def test_unknown_code_answers_404_in_error_format(client):
    response = client.get(detail_url("99.99"))
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["status"] == 404
    assert error["code"] == "not_found"
    assert error["message"]


# Invalid input


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"level": "village"}, "level"),
        ({"kind": "city"}, "kind"),
        ({"parent": "64.9"}, "parent"),
        ({"within": "64.09."}, "within"),
        ({"within": "64.09.%"}, "within"),
        ({"has_boundary": "maybe"}, "has_boundary"),
    ],
)
def test_invalid_filter_answers_400_naming_the_field(client, params, field):
    response = client.get(list_url(), params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == 400
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]


@pytest.mark.parametrize("tolerance", ["-0.001", "0.2", "nan", "inf", "abc"])
def test_tolerance_outside_0_to_0_1_answers_400(client, tolerance):
    for url in (list_url(), detail_url("64.09")):
        response = client.get(url, {"format": "geojson", "tolerance": tolerance})
        assert response.status_code == 400
        error = json.loads(response.content)["error"]
        assert error["status"] == 400
        assert "tolerance" in error["fields"]


# GeoJSON


def test_geojson_villages_of_ppu_are_54_valid_polygons(client):
    collection = geojson(client, list_url(), level="desa", within="64.09")
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert len(features) == 54
    assert [f["properties"]["code"] for f in features] == sorted(
        f["properties"]["code"] for f in features
    )
    for feature in features:
        assert feature["type"] == "Feature"
        assert set(feature["properties"]) == {
            "code",
            "name",
            "level",
            "kind",
            "parent",
            "area_km2",
        }
        geometry = GEOSGeometry(json.dumps(feature["geometry"]))
        assert geometry.geom_type == "MultiPolygon"
        assert geometry.valid, feature["properties"]["code"]
        assert not geometry.empty


def test_geojson_collection_reads_as_a_gdal_layer(client, tmp_path):
    path = tmp_path / "villages.geojson"
    response = client.get(list_url(), {"format": "geojson", "level": "desa", "within": "64.09"})
    path.write_bytes(response.content)
    layer = DataSource(str(path))[0]
    assert len(layer) == 54
    assert layer.geom_type.name == "MultiPolygon"
    assert all(feature.geom.geos.valid for feature in layer)
    assert "code" in layer.fields


def test_geojson_content_type_is_application_geo_json(client):
    response = client.get(list_url(), {"format": "geojson", "parent": "64.09"})
    assert response["Content-Type"] == GEOJSON


def test_accept_header_also_selects_geojson(client):
    response = client.get(list_url(), {"parent": "64.09"}, HTTP_ACCEPT=GEOJSON)
    assert response.status_code == 200
    assert json.loads(response.content)["type"] == "FeatureCollection"


def test_simplification_reduces_vertex_count(client):
    params = {"level": "desa", "within": "64.09"}
    full = vertex_count(geojson(client, list_url(), tolerance="0", **params))
    default = vertex_count(geojson(client, list_url(), **params))
    coarse = vertex_count(geojson(client, list_url(), tolerance="0.01", **params))
    assert full > default > coarse
    assert coarse < full / 5


def test_geojson_coordinates_have_at_most_6_decimals(client):
    collection = geojson(client, list_url(), parent="64.09.01", tolerance="0")
    ring = collection["features"][0]["geometry"]["coordinates"][0][0]
    assert all(round(value, 6) == value for point in ring for value in point)


def test_region_without_boundary_appears_with_null_geometry(client):
    collection = geojson(client, list_url(), level="province")
    [feature] = collection["features"]
    assert feature["geometry"] is None
    assert feature["properties"]["code"] == "64"
    assert feature["properties"]["parent"] is None


def test_geojson_with_no_match_is_an_empty_feature_collection(client):
    collection = geojson(client, list_url(), within="64.09.01.2020")
    assert collection == {"type": "FeatureCollection", "features": []}


def test_geojson_detail_is_one_feature(client):
    feature = geojson(client, detail_url("64.09.01.2020"))
    assert feature["type"] == "Feature"
    assert feature["properties"]["code"] == "64.09.01.2020"
    assert feature["properties"]["parent"] == "64.09.01"
    assert GEOSGeometry(json.dumps(feature["geometry"])).valid


def test_geojson_detail_of_unknown_code_answers_404(client):
    response = client.get(detail_url("64.09.99"), {"format": "geojson"})
    assert response.status_code == 404
    assert json.loads(response.content)["error"]["status"] == 404


def test_geojson_selector_refuses_more_than_its_limit():
    with pytest.raises(RegionLimitExceeded):
        regions_geojson(filters=RegionFilter(level="desa"), limit=53)
    text = regions_geojson(filters=RegionFilter(level="desa"), limit=54)
    assert len(json.loads(text)["features"]) == 54


def test_geojson_of_more_than_5000_regions_answers_400_asking_to_narrow(client):
    regions_load(scope="indonesia")
    response = client.get(list_url(), {"format": "geojson", "level": "desa"})
    assert response.status_code == 400
    error = json.loads(response.content)["error"]
    assert error["status"] == 400
    message = " ".join(error["fields"]["non_field_errors"])
    for word in ("5000", "level", "parent", "within"):
        assert word in message
    # The JSON list is paginated, so the same filters are fine there.
    assert client.get(list_url(), {"level": "desa"}).status_code == 200


# OpenAPI


def test_schema_documents_region_filters_and_geojson(client):
    response = client.get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    operation = paths["/api/v1/regions/"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"level", "kind", "parent", "within", "q", "has_boundary", "tolerance"} <= names
    assert all(parameter.get("description") for parameter in operation["parameters"])
    assert GEOJSON in operation["responses"]["200"]["content"]
    detail = paths["/api/v1/regions/{code}/"]["get"]["responses"]["200"]["content"]
    assert detail["application/json"]["schema"]["$ref"].endswith("/RegionDetail")
    assert detail[GEOJSON]["schema"]["properties"]["type"]["enum"] == ["Feature"]


def test_bbox_contains_every_vertex_of_the_area(client):
    [row] = all_rows(client, q="64.09.01.2020")
    feature = geojson(client, detail_url("64.09.01.2020"), tolerance="0")
    minx, miny, maxx, maxy = row["bbox"]
    points = [p for polygon in feature["geometry"]["coordinates"] for ring in polygon for p in ring]
    assert all(minx <= x <= maxx and miny <= y <= maxy for x, y in points)
    assert not any(math.isnan(value) for value in row["bbox"])
