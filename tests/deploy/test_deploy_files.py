"""The production files stay in step with the code: every command a unit runs exists,
every placeholder of the nginx site is filled by the installer, and no unit holds a
secret (they come from files). The install itself was tried on a blank Debian 12
(docs/deploy.md)."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from django.core.management import get_commands

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def units():
    for path in sorted((DEPLOY / "systemd").glob("*.service")):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str
        parser.read_string(path.read_text().replace("\\\n", " "))
        yield path.name, parser


def test_every_unit_runs_a_command_that_exists():
    commands = get_commands()
    for name, unit in units():
        start = unit["Service"]["ExecStart"]
        for command in re.findall(r"manage\.py (\w+)", start):
            assert command in commands, f"{name}: manage.py {command} does not exist"
        for path in re.findall(r"/opt/desapresisi/app/(\S+)", start):
            assert (DEPLOY.parent / path).exists(), f"{name}: {path} is not in the repository"
        if "--config" in start:
            config = re.search(r"--config (\S+)", start).group(1)
            assert (DEPLOY.parent / config).exists()


def test_units_hold_no_secret_and_run_unprivileged():
    for name, unit in units():
        text = (DEPLOY / "systemd" / name).read_text()
        assert not re.search(r"SECRET_KEY=|PASSWORD|postgis://\w+:", text), name
        # Root only for the maintenance role's job, which reads its URL from a root-only file.
        assert unit["Service"]["User"] in ("desapresisi", "postgres", "root"), name
        if unit["Service"]["User"] == "root":
            assert unit["Service"]["Environment"].startswith("DATABASE_URL_FILE=/etc/"), name


def test_the_installer_fills_every_placeholder_of_the_proxy_site():
    site = (DEPLOY / "nginx" / "desapresisi.conf").read_text()
    installer = (DEPLOY / "install.sh").read_text()
    placeholders = set(re.findall(r"@([A-Z_]+)@", site))
    assert placeholders == {"SERVER_NAME", "TLS_CERT", "TLS_KEY", "UPLOAD_LIMIT"}
    for placeholder in placeholders:
        assert f"s|@{placeholder}@|" in installer
    # The private export folder is never served; metrics are not proxied.
    directives = "\n".join(line for line in site.splitlines() if not line.lstrip().startswith("#"))
    assert "/var/lib/desapresisi" not in directives
    assert "location = /metrics" in site
