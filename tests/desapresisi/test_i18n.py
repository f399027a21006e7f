"""One message mechanism: every user-facing text is an Indonesian msgid with its English
translation in the catalogue, and an API error answers in the caller's language."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from desapresisi.i18n import Message, shown

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"


@dataclass
class Entry:
    msgid: str = ""
    msgstr: str = ""
    flags: set[str] = field(default_factory=set)
    line: int = 0


def read_po(text: str) -> list[Entry]:
    """The entries of a .po file (this catalogue uses neither contexts nor plurals)."""
    entries: list[Entry] = []
    entry, part = Entry(), None

    def finish() -> None:
        nonlocal entry, part
        if part is not None:
            entries.append(entry)
        entry, part = Entry(), None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
        elif line.startswith("#,"):
            if part is not None:
                finish()
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith(("msgctxt", "msgid_plural", "msgstr[")):
            raise AssertionError(f"line {number}: contexts and plurals are not read here")
        elif line.startswith("msgid "):
            if part is not None:
                finish()
            entry.line, part = number, "msgid"
            entry.msgid = ast.literal_eval(line[len("msgid ") :])
        elif line.startswith("msgstr "):
            part = "msgstr"
            entry.msgstr = ast.literal_eval(line[len("msgstr ") :])
        elif line.startswith('"') and part is not None:
            setattr(entry, part, getattr(entry, part) + ast.literal_eval(line))
        else:
            raise AssertionError(f"line {number}: not understood: {raw!r}")
    finish()
    return entries


def test_the_po_reader_finds_untranslated_and_fuzzy_entries():
    text = (
        'msgid ""\nmsgstr "Language: en\\n"\n\n'
        'msgid "Wajib diisi."\nmsgstr "Required."\n\n'
        '#: a.py:1\nmsgid ""\n"Dua "\n"baris."\nmsgstr ""\n\n'
        '#, fuzzy, python-format\nmsgid "Kode %(code)s"\nmsgstr "Code %(code)s"\n'
    )
    header, done, empty, fuzzy = read_po(text)
    assert header.msgid == "" and done.msgstr == "Required."
    assert empty.msgid == "Dua baris." and empty.msgstr == ""
    assert "fuzzy" in fuzzy.flags and "fuzzy" not in done.flags


def test_english_catalogue_is_complete():
    entries = [entry for entry in read_po(CATALOGUE.read_text(encoding="utf-8")) if entry.msgid]
    assert len(entries) > 300  # the whole catalogue was read, not its first entry
    untranslated = [(entry.line, entry.msgid) for entry in entries if not entry.msgstr]
    fuzzy = [(entry.line, entry.msgid) for entry in entries if "fuzzy" in entry.flags]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy: {fuzzy}"


# What makemessages must not read: the environment, caches and generated output.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", ".local", "__pycache__", "test-artifacts", "staticfiles", "node_modules",
    "*.png", "*.pdf", "*.xlsx", "*.mo",
)  # fmt: skip


def test_every_message_in_the_code_is_in_the_catalogue(tmp_path):
    """Django's own extraction (makemessages, run on a copy of the sources) finds no msgid
    that the catalogue lacks, and the catalogue keeps none the code no longer has: a new
    text cannot reach a page untranslated because nobody added it by hand."""
    base = Path(settings.BASE_DIR)
    copy = tmp_path / "src"
    shutil.copytree(base, copy, ignore=_NOT_SOURCE, symlinks=False)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "en", "--no-location"],
        cwd=copy, check=True, capture_output=True, text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "desapresisi.settings"},
    )  # fmt: skip
    # Every msgid it wrote, fuzzy ones too (a new msgid resembling an old one is one).
    written = (copy / CATALOGUE.relative_to(base)).read_text(encoding="utf-8")
    extracted = {entry.msgid for entry in read_po(written) if entry.msgid}
    kept = {entry.msgid for entry in read_po(CATALOGUE.read_text(encoding="utf-8")) if entry.msgid}
    assert sorted(extracted - kept) == [], "add these to locale/en/LC_MESSAGES/django.po"
    assert sorted(kept - extracted) == [], "no longer in the code: remove from the catalogue"


def test_compiled_catalogue_is_up_to_date():
    """The .mo is what Django reads: it must hold every translation of the .po."""
    entries = [entry for entry in read_po(CATALOGUE.read_text(encoding="utf-8")) if entry.msgid]
    with translation.override("en"):
        stale = [
            entry.msgid for entry in entries if translation.gettext(entry.msgid) != entry.msgstr
        ]
    assert not stale, f"compile with msgfmt: {stale[:5]}"


def test_placeholders_are_named_and_kept_in_translations():
    for entry in read_po(CATALOGUE.read_text(encoding="utf-8")):
        if not entry.msgid:
            continue
        assert not re.search(r"%[sd]", entry.msgid.replace("%%", "")), entry.msgid
        wanted = sorted(re.findall(r"%\((\w+)\)s", entry.msgid))
        assert sorted(re.findall(r"%\((\w+)\)s", entry.msgstr)) == wanted, entry.msgid


def test_stored_message_is_translated_when_shown():
    message = Message("Kode desa/kelurahan tidak dikenal: %(code)s.", code="64.09.99.9999")
    assert str(message) == "Kode desa/kelurahan tidak dikenal: 64.09.99.9999."
    with translation.override("en"):
        assert str(message) == "Unknown village code: 64.09.99.9999."
    # Text stored before messages were kept as msgids is shown as it was.
    assert shown("Teks lama / old text 100%") == "Teks lama / old text 100%"


@pytest.mark.parametrize(
    ("language", "message"),
    [
        (None, "Permintaan tidak valid."),
        ("id", "Permintaan tidak valid."),
        ("en", "The request is not valid."),
    ],
)
def test_api_error_speaks_the_callers_language(db, client, language, message):
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = client.get("/api/v1/regions/?parent=bukan-kode", **headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == message
    expected = (
        "Not a region code (e.g. 64.09, 64.09.01.2001)."
        if language == "en"
        else "Kode wilayah tidak valid (contoh: 64.09, 64.09.01.2001)."
    )
    assert error["fields"] == {"parent": [expected]}


@pytest.mark.parametrize(
    ("language", "message"),
    [
        (None, "Akun ini belum diberi peran dan wilayah tugas."),
        ("en", "This account has no role and area assigned yet."),
    ],
)
def test_permission_error_speaks_the_callers_language(as_user, personas, language, message):
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = as_user(personas["norole"]).get("/api/v1/households/", **headers)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == message
