"""Exports of ODK Central and KoboToolbox built to their published formats, from the
census form's own questions (the group path as each tool writes it)."""

from __future__ import annotations

import csv
import io
import zipfile

from openpyxl import Workbook

from households import schema
from households.fieldwork import xlsform

FORM_ID = xlsform.CENSUS_FORM_ID
CENTRAL_TAIL = [
    "meta-instanceID", "KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent",
    "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits", "FormVersion",
]  # fmt: skip
GEO = ("Latitude", "Longitude", "Altitude", "Accuracy")


def household_questions(*, visit: bool = False) -> list[str]:
    columns = xlsform.visit_columns() if visit else schema.sheet_columns(schema.HOUSEHOLD)
    names = []
    for column in columns:
        if column.name == "bujur":
            continue
        names.append(xlsform.GEOPOINT if column.name == "lintang" else column.name)
    return names


def member_questions() -> list[str]:
    return [c.name for c in schema.sheet_columns(schema.MEMBER) if c.name != "no_kk"]


def _csv(headers: list[str], rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _household_values(household: dict, prefix: str, separator: str, *, split_geo: bool):
    headers, values = [], []
    for name in household_questions():
        if name == xlsform.GEOPOINT:
            lat, lon = household.get("lintang", ""), household.get("bujur", "")
            accuracy = household.get("_accuracy", "4.5")
            if split_geo:
                for part, value in zip(GEO, (lat, lon, "35.2", accuracy), strict=True):
                    headers.append(f"{prefix}{separator}{name}{separator}{part}")
                    values.append(value if lat else "")
            else:
                headers.append(f"{prefix}{separator}{name}")
                values.append(f"{lat} {lon} 35.2 {accuracy}" if lat else "")
            continue
        headers.append(f"{prefix}{separator}{name}")
        values.append(household.get(name, ""))
    return headers, values


def central_zip(submissions: list[dict]) -> bytes:
    """ODK Central's "all submissions" CSV zip. Each submission: instance, review (Central's
    ReviewState: "", approved, hasIssues, rejected), household (census sheet row), members."""
    main_rows, repeat_rows = [], []
    headers: list[str] = []
    for submission in submissions:
        hh_headers, hh_values = _household_values(
            submission["household"], "rumah_tangga", "-", split_geo=True
        )
        headers = ["SubmissionDate", *hh_headers, *CENTRAL_TAIL]
        instance = submission["instance"]
        main_rows.append(
            [
                "2026-11-20T03:12:44.120Z", *hh_values, instance, instance, "7", "enumerator-1",
                "0", "0", "", submission.get("review", ""), "collect:abc123", "0", "v1",
            ]
        )  # fmt: skip
        for index, member in enumerate(submission["members"], start=1):
            repeat_rows.append(
                [member.get(name, "") for name in member_questions()]
                + [instance, f"{instance}/anggota[{index}]"]
            )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{FORM_ID}.csv", _csv(headers, main_rows))
        archive.writestr(
            f"{FORM_ID}-anggota.csv", _csv([*member_questions(), "PARENT_KEY", "KEY"], repeat_rows)
        )
    return buffer.getvalue()


KOBO_STATUS = {
    "approved": "validation_status_approved",
    "hasIssues": "validation_status_on_hold",
    "rejected": "validation_status_not_approved",
    "": "",
}


def kobo_xlsx(submissions: list[dict]) -> bytes:
    """KoboToolbox's XLS export (XML values and headers, group names with "/"): the main
    sheet and a sheet per repeat joined by _index / _parent_index."""
    book = Workbook()
    main = book.active
    main.title = "Sensus rumah tangga"  # the form title, cut to 31 characters
    members = book.create_sheet("anggota")
    member_headers = [f"anggota/{name}" for name in member_questions()] + [
        "_index", "_parent_table_name", "_parent_index", "_submission__id", "_submission__uuid",
    ]  # fmt: skip
    members.append(member_headers)
    member_index = 0
    for index, submission in enumerate(submissions, start=1):
        hh_headers, hh_values = _household_values(
            submission["household"], "rumah_tangga", "/", split_geo=False
        )
        uuid = submission["instance"].removeprefix("uuid:")
        tail = ["meta/instanceID", "_id", "_uuid", "_submission_time", "_validation_status",
                "_notes", "_status", "_submitted_by", "_tags", "_index"]  # fmt: skip
        if index == 1:
            main.append([*hh_headers, *tail])
        main.append(
            [*hh_values, submission["instance"], 1000 + index, uuid, "2026-11-20T03:12:44",
             KOBO_STATUS[submission.get("review", "")], "", "submitted_via_web", "enumerator1",
             "", index]
        )  # fmt: skip
        for member in submission["members"]:
            member_index += 1
            members.append(
                [member.get(name, "") for name in member_questions()]
                + [member_index, main.title, index, 1000 + index, uuid]
            )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def central_visits_zip(visits: list[dict]) -> bytes:
    """ODK Central's CSV zip of the follow-up visit form: the entity question and the
    version at the top level, the answers in the `rumah_tangga` group."""
    headers = [
        "SubmissionDate", xlsform.ENTITY_QUESTION, xlsform.VISIT_VERSION, "no_kk", "kode_desa",
    ]  # fmt: skip
    rows = []
    for visit in visits:
        answers = visit["answers"]
        hh_headers, hh_values = [], []
        for name in household_questions(visit=True):
            if name == xlsform.GEOPOINT:
                for part, value in zip(
                    GEO, (answers.get("lintang", ""), answers.get("bujur", ""), "0", "0"),
                    strict=True,
                ):  # fmt: skip
                    hh_headers.append(f"rumah_tangga-{name}-{part}")
                    hh_values.append(value if answers.get("lintang") else "")
                continue
            hh_headers.append(f"rumah_tangga-{name}")
            hh_values.append(answers.get(name, ""))
        all_headers = [*headers, *hh_headers, *CENTRAL_TAIL]
        instance = visit["instance"]
        rows.append(
            ["2026-11-21T02:00:00.000Z", visit["entity"], visit["versi"], "", "", *hh_values,
             instance, instance, "7", "enumerator-1", "0", "0", "", visit.get("review", "approved"),
             "collect:abc123", "0", "v1"]
        )  # fmt: skip
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{xlsform.VISIT_FORM_ID}.csv", _csv(all_headers, rows))
    return buffer.getvalue()


def kobo_csv(submissions: list[dict]) -> tuple[bytes, bytes]:
    """KoboToolbox's CSV export: the main table with ";" (its default separator) and the
    repeat's table as a second file, joined by _index / _parent_index."""
    main_rows, member_rows, headers = [], [], []
    for index, submission in enumerate(submissions, start=1):
        hh_headers, hh_values = _household_values(
            submission["household"], "rumah_tangga", "/", split_geo=False
        )
        headers = [*hh_headers, "meta/instanceID", "_uuid", "_validation_status", "_index"]
        uuid = submission["instance"].removeprefix("uuid:")
        main_rows.append(
            [*hh_values, submission["instance"], uuid, KOBO_STATUS[submission.get("review", "")],
             index]
        )  # fmt: skip
        for member in submission["members"]:
            member_rows.append(
                [member.get(name, "") for name in member_questions()] + [index, uuid]
            )

    def table(head, rows) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";")
        writer.writerow(head)
        writer.writerows(rows)
        return buffer.getvalue().encode()

    member_headers = [f"anggota/{name}" for name in member_questions()]
    return table(headers, main_rows), table(
        [*member_headers, "_parent_index", "_submission__uuid"], member_rows
    )
