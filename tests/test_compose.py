"""docker-compose.yml cannot run here; check that what it names exists in the code."""

from __future__ import annotations

import yaml

from coea.cli.main import COMMANDS, _available
from coea.settings import REPO_ROOT, Settings


def _compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def test_every_coea_environment_variable_is_a_setting():
    fields = {f"COEA_{name.upper()}" for name in Settings.model_fields}
    named = set()
    for svc in _compose()["services"].values():
        named |= {k for k in (svc.get("environment") or {}) if k.startswith("COEA_")}
    assert named, "compose names no COEA_ settings"
    assert named <= fields, f"unknown settings in docker-compose.yml: {named - fields}"


def test_every_coea_service_runs_an_existing_command():
    services = _compose()["services"]
    assert "kafka" in services and services["kafka"]["image"].startswith("apache/kafka:")
    coea_services = {n: s for n, s in services.items() if s.get("build")}
    assert coea_services
    for name, svc in coea_services.items():
        cmd = svc["command"]
        assert cmd[0] == "coea", name
        assert cmd[1] in COMMANDS and _available(cmd[1]), f"{name}: no `coea {cmd[1]}`"
        for dep in svc.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown service {dep}"


def test_compose_kafka_version_matches_infra():
    pom = (REPO_ROOT / "infra" / "kafka" / "pom.xml").read_text()
    image = _compose()["services"]["kafka"]["image"]
    version = image.split(":")[1]
    assert f"<kafka.version>{version}</kafka.version>" in pom
