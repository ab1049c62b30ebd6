"""Client-side security of every Kafka client and of the HTTP API, from the settings.

`client_security(settings)` is the edge (it may read the password file); the functions that
turn a `ClientSecurity` into keyword arguments for kafka-python, aiokafka and Faust are pure.
Every client construction site in the project goes through one of them, so a secured setting
reaches every producer, consumer and admin client. Passwords never appear in a repr, a log
line or an error message (docs/security.md).
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coea.settings import Settings


class SecurityConfigError(ValueError):
    """The security settings are incomplete or contradictory; the message says which."""


@dataclass(frozen=True)
class ClientSecurity:
    """What a Kafka client needs to authenticate: protocol, SASL user and password, CA file."""

    protocol: str = "PLAINTEXT"
    mechanism: str = "SCRAM-SHA-512"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: Path | None = None

    @property
    def secured(self) -> bool:
        return self.protocol != "PLAINTEXT"


def _secret(value, path: Path | None, what: str) -> str | None:
    """The secret from a SecretStr, else the first line of `path`; None when neither is set."""
    if value is not None:
        return value.get_secret_value()
    if path is None:
        return None
    try:
        text = Path(path).read_text().strip()
    except OSError as exc:
        raise SecurityConfigError(f"cannot read the {what} file {path}: {exc.strerror}") from None
    if not text:
        raise SecurityConfigError(f"the {what} file {path} is empty")
    return text


def client_security(settings: Settings) -> ClientSecurity:
    """The client security of these settings (reads kafka_password_file when it is used)."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return ClientSecurity()
    password = _secret(settings.kafka_password, settings.kafka_password_file, "Kafka password")
    missing = [
        name
        for name, value in (
            ("COEA_KAFKA_USERNAME", settings.kafka_username),
            ("COEA_KAFKA_PASSWORD or COEA_KAFKA_PASSWORD_FILE", password),
            ("COEA_KAFKA_SSL_CAFILE", settings.kafka_ssl_cafile),
        )
        if not value
    ]
    if missing:
        raise SecurityConfigError(
            f"COEA_KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol} needs "
            + ", ".join(missing)
        )
    return ClientSecurity(
        protocol=settings.kafka_security_protocol,
        mechanism=settings.kafka_sasl_mechanism,
        username=settings.kafka_username,
        password=password,
        cafile=Path(settings.kafka_ssl_cafile),
    )


def ssl_context(sec: ClientSecurity) -> ssl.SSLContext:
    """A TLS context that trusts only the configured CA and checks the broker's host name."""
    return ssl.create_default_context(cafile=str(sec.cafile))


def _sasl_kwargs(sec: ClientSecurity) -> dict[str, Any]:
    """The SASL keyword arguments kafka-python and aiokafka name alike."""
    return {
        "security_protocol": sec.protocol,
        "sasl_mechanism": sec.mechanism,
        "sasl_plain_username": sec.username,
        "sasl_plain_password": sec.password,
    }


def kafka_python_kwargs(sec: ClientSecurity) -> dict[str, Any]:
    """Keyword arguments for kafka-python's KafkaProducer, KafkaConsumer, KafkaAdminClient."""
    if not sec.secured:
        return {}
    return {**_sasl_kwargs(sec), "ssl_cafile": str(sec.cafile), "ssl_check_hostname": True}


def aiokafka_kwargs(sec: ClientSecurity) -> dict[str, Any]:
    """Keyword arguments for aiokafka's AIOKafkaProducer and AIOKafkaConsumer."""
    if not sec.secured:
        return {}
    return {**_sasl_kwargs(sec), "ssl_context": ssl_context(sec)}


def faust_credentials(sec: ClientSecurity):
    """`broker_credentials` of `faust.App` (None for a plaintext broker)."""
    if not sec.secured:
        return None
    import faust

    return faust.SASLCredentials(
        username=sec.username,
        password=sec.password,
        ssl_context=ssl_context(sec),
        mechanism=sec.mechanism,
    )


def kafka_python_options(settings: Settings) -> dict[str, Any]:
    """`kafka_python_kwargs` of the settings' client security (the common call)."""
    return kafka_python_kwargs(client_security(settings))


def aiokafka_options(settings: Settings) -> dict[str, Any]:
    """`aiokafka_kwargs` of the settings' client security."""
    return aiokafka_kwargs(client_security(settings))


# --- HTTP API ---------------------------------------------------------------------------


def api_token(settings: Settings) -> str | None:
    """The bearer token of the worker's web views (None: no token configured)."""
    return _secret(settings.worker_api_token, settings.worker_api_token_file, "API token")


def is_loopback(host: str) -> bool:
    """True for 'localhost' and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_problem(host: str, token: str | None) -> str | None:
    """Why the web views must not start on `host` with this token; None when they may."""
    if token is None and not is_loopback(host):
        return (
            f"worker_web_host={host!r} is not a loopback address: set COEA_WORKER_API_TOKEN "
            "or COEA_WORKER_API_TOKEN_FILE (clients then send 'Authorization: Bearer <token>')"
        )
    if token is not None and len(token) < 16:
        return "the API token is shorter than 16 characters"
    return None


def auth_headers(settings: Settings) -> dict[str, str]:
    """Headers a client of the worker's web views sends (empty without a token)."""
    token = api_token(settings)
    return {"Authorization": f"Bearer {token}"} if token else {}
