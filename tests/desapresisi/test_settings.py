"""The committed .env.example documents every variable settings.py reads, and no other."""

import ast
import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from desapresisi.settings import env_str

ROOT = Path(__file__).resolve().parents[2]
READERS = {"env_str", "env_bool", "env_int", "env_list"}
# Read by the scripts (scripts/lib.sh, scripts/run) or the demo commands, not by settings.py.
SCRIPT_VARIABLES = {"HOST", "PORT", "WEB_WORKERS", "DEMO_PASSWORD", "PGPORT_LOCAL"}


def _read_by_settings() -> set[str]:
    tree = ast.parse((ROOT / "desapresisi" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        func = node.func
        reader = isinstance(func, ast.Name) and func.id in READERS
        environ = isinstance(func, ast.Attribute) and func.attr in {"get", "getenv"}
        if reader or environ:
            names.add(first.value)
    return {name for name in names if re.fullmatch(r"[A-Z][A-Z0-9_]+", name)}


def _documented() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.M))


def test_env_example_lists_every_variable_settings_reads():
    read = _read_by_settings()
    assert len(read) > 20  # the parser found the readers at all
    assert read - _documented() == set()


def test_env_example_lists_no_variable_nobody_reads():
    assert _documented() - _read_by_settings() - SCRIPT_VARIABLES == set()


def test_a_secret_may_come_from_a_file(tmp_path, monkeypatch):
    secret = tmp_path / "secret_key"
    secret.write_text("dari-berkas\n")
    monkeypatch.setenv("SECRET_KEY", "dari-lingkungan")
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret))
    assert env_str("SECRET_KEY") == "dari-berkas"
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY_FILE"):
        env_str("SECRET_KEY")
