"""Client security kwargs, secrets handling, the web bind rule, access decisions, ACL table."""

from __future__ import annotations

import pytest

from coea import acls
from coea.security import (
    SecurityConfigError,
    aiokafka_kwargs,
    api_token,
    bind_problem,
    client_security,
    faust_credentials,
    is_loopback,
    kafka_python_kwargs,
)
from coea.settings import Settings
from stream_app.access import decide, user_id_problem

SECRET = "correct-horse-battery-staple"


def _secured(tmp_path, **kw) -> Settings:
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    return Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_username="worker",
        kafka_ssl_cafile=ca,
        **kw,
    )


def test_plaintext_adds_nothing():
    sec = client_security(Settings())
    assert not sec.secured and kafka_python_kwargs(sec) == {} and aiokafka_kwargs(sec) == {}
    assert faust_credentials(sec) is None


def test_password_from_file_reaches_every_client_library(tmp_path):
    path = tmp_path / "pw"
    path.write_text(SECRET + "\n")
    sec = client_security(_secured(tmp_path, kafka_password_file=path))
    kp = kafka_python_kwargs(sec)
    assert kp["security_protocol"] == "SASL_SSL" and kp["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kp["sasl_plain_username"] == "worker" and kp["sasl_plain_password"] == SECRET
    assert kp["ssl_check_hostname"] is True


def test_password_never_in_repr_or_settings_dump(tmp_path):
    s = _secured(tmp_path, kafka_password=SECRET)
    sec = client_security(s)
    assert sec.password == SECRET
    assert SECRET not in repr(sec) and SECRET not in repr(s) and SECRET not in s.model_dump_json()


def test_missing_credentials_named_without_values(tmp_path):
    s = Settings(kafka_security_protocol="SASL_SSL", kafka_password=SECRET)
    with pytest.raises(SecurityConfigError) as exc:
        client_security(s)
    assert "COEA_KAFKA_USERNAME" in str(exc.value) and "COEA_KAFKA_SSL_CAFILE" in str(exc.value)
    assert SECRET not in str(exc.value)


def test_unreadable_password_file(tmp_path):
    with pytest.raises(SecurityConfigError, match="cannot read"):
        client_security(_secured(tmp_path, kafka_password_file=tmp_path / "absent"))


@pytest.mark.parametrize(
    "host,loopback",
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
    ],
)
def test_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_public_bind_needs_a_token(tmp_path):
    assert bind_problem("127.0.0.1", None) is None
    assert "COEA_WORKER_API_TOKEN" in bind_problem("0.0.0.0", None)
    assert bind_problem("0.0.0.0", "short") is not None
    assert bind_problem("0.0.0.0", SECRET) is None
    token_file = tmp_path / "token"
    token_file.write_text(SECRET)
    assert api_token(Settings(worker_api_token_file=token_file)) == SECRET


def test_access_decisions():
    bearer = f"Bearer {SECRET}"
    assert decide("/v1/novel-categories/1", None, None, True) is None
    assert decide("/v1/novel-categories/1", None, SECRET, True).status == 401
    assert decide("/v1/novel-categories/1", "Bearer nope", SECRET, True).status == 401
    assert decide("/v1/novel-categories/1", f"Basic {SECRET}", SECRET, True).status == 401
    assert decide("/v1/novel-categories/1", bearer, SECRET, True) is None
    assert decide("/state/1/", None, SECRET, True).status == 401
    assert decide("/state/1/", bearer, SECRET, True) is None
    assert decide("/state/1/", bearer, SECRET, False).status == 404  # private views off
    assert decide("/router/", None, None, False).status == 404
    assert decide("/healthz", None, SECRET, False) is None  # probes stay open


def test_user_id_follows_the_event_schema():
    assert user_id_problem("196") is None and user_id_problem("s" * 128) is None
    assert "5000 characters" in user_id_problem("x" * 5000)
    assert user_id_problem("") is not None


def test_acl_table_least_privilege():
    g = acls.grants("p", "coea-learner")
    by_user: dict[str, set] = {}
    for x in g:
        by_user.setdefault(x.user, set()).add((x.operation, x.resource, x.name, x.prefixed))
    assert by_user[acls.TABLE_READER] == {("READ", "TOPIC", "p.novel-categories", False)}
    writers = {x.user for x in g if x.name == "p.novel-categories" and x.operation != "READ"}
    assert writers == {acls.LEARNER}
    assert {x.user for x in g if x.name == "p.user-groups" and x.operation == "WRITE"} == {
        acls.LEARNER
    }
    assert by_user[acls.REPLAY] == {
        ("WRITE", "TOPIC", "p.events", False),
        ("WRITE", "TOPIC", "p.items", False),
    }
    assert acls.ADMIN not in by_user  # the super user needs no grant
