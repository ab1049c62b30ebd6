"""docker-compose.yml cannot run here; check that what it names exists in the code."""

from __future__ import annotations

import yaml

from app.cli.main import COMMANDS
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
        assert cmd[1] in COMMANDS, f"{name}: no `coea {cmd[1]}`"
        for dep in svc.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown service {dep}"


def test_compose_kafka_version_matches_infra():
    pom = (REPO_ROOT / "infra" / "kafka" / "pom.xml").read_text()
    image = _compose()["services"]["kafka"]["image"]
    version = image.split(":")[1]
    assert f"<kafka.version>{version}</kafka.version>" in pom


def _env(svc: dict) -> dict:
    return {k: str(v) for k, v in (svc.get("environment") or {}).items()}


def test_compose_is_secured():
    """Kafka is not published and speaks SASL_SSL; each process has its own principal; the
    public API has a token and no private views (docs/security.md)."""
    services = _compose()["services"]
    assert "ports" not in services["kafka"]
    assert services["kafka"]["command"] == ["bash", "/secrets/start-kafka.sh"]
    coea_services = {n: s for n, s in services.items() if s.get("build")}
    users = {}
    for name, svc in coea_services.items():
        if name == "credentials":
            continue
        env = _env(svc)
        assert env["COEA_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL", name
        assert env["COEA_KAFKA_SSL_CAFILE"].startswith("/secrets/"), name
        assert "COEA_KAFKA_PASSWORD" not in env, f"{name}: a password in plain sight"
        if "COEA_KAFKA_USERNAME" in env:
            users[name] = env["COEA_KAFKA_USERNAME"]
            assert env["COEA_KAFKA_PASSWORD_FILE"].endswith(f"/{users[name]}.password"), name
    assert users["worker"] == "worker" and users["learner"] == "learner"
    assert users["replay"] == "replay"
    worker = _env(services["worker"])
    assert worker["COEA_WORKER_WEB_HOST"] == "0.0.0.0" and worker["COEA_WORKER_API_TOKEN_FILE"]
    assert worker["COEA_WORKER_PRIVATE_VIEWS"] == "false"
    assert services["worker"]["ports"] == ["6066:6066"]
    published = {n: s["ports"] for n, s in services.items() if s.get("ports")}
    for name, ports in published.items():  # only the API on every interface; tools on loopback
        if name != "worker":
            assert all(p.startswith("127.0.0.1:") for p in ports), (name, ports)
            assert services[name].get("profiles"), f"{name} publishes ports by default"
