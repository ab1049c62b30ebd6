"""The secured broker's files and credentials: TLS, SCRAM users, its server.properties.

Layout under ``kafka_home``: ``tls/`` (ca.pem, ca.key, broker.pem), ``secrets/<user>.password``
(one generated password per principal of `coea.acls.PRINCIPALS`, mode 0600). Clients point
COEA_KAFKA_PASSWORD_FILE at their user's file and COEA_KAFKA_SSL_CAFILE at ``tls/ca.pem``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from coea.acls import ADMIN, PRINCIPALS
from coea.pki import TlsFiles
from coea.settings import Settings


@dataclass(frozen=True)
class SecuredHome:
    home: Path

    @property
    def tls(self) -> TlsFiles:
        return TlsFiles(self.home / "tls")

    @property
    def secrets(self) -> Path:
        return self.home / "secrets"

    def password_file(self, user: str) -> Path:
        return self.secrets / f"{user}.password"

    def is_secured(self) -> bool:
        return self.password_file(ADMIN).is_file()


def is_secured(settings: Settings) -> bool:
    return settings.kafka_security_protocol != "PLAINTEXT"


def ensure_credentials(home: SecuredHome, hosts: list[str]) -> dict[str, str]:
    """Create what is missing (CA and broker certificate, one password per principal);
    return every principal's password."""
    from coea import pki

    if not home.tls.complete():
        pki.create(home.tls, hosts)
    home.secrets.mkdir(parents=True, exist_ok=True)
    os.chmod(home.secrets, 0o700)
    out = {}
    for user in PRINCIPALS:
        path = home.password_file(user)
        if not path.is_file():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(24) + "\n")
        out[user] = path.read_text().strip()
    return out


def scram_args(passwords: dict[str, str], mechanism: str = "SCRAM-SHA-512") -> list[str]:
    """`kafka-storage format` arguments that create every user at format time."""
    args: list[str] = []
    for user, password in passwords.items():
        args += ["--add-scram", f"{mechanism}=[name={user},password={password}]"]
    return args


def render_config(
    template: str,
    settings: Settings,
    data_dir: Path,
    home: SecuredHome,
    listen_host: str = "127.0.0.1",
    advertised_host: str = "127.0.0.1",
) -> str:
    """The secured server.properties (it holds the admin password: written with mode 0600)."""
    admin_password = home.password_file(ADMIN).read_text().strip()
    return template.format(
        listen_host=listen_host,
        advertised_host=advertised_host,
        port=settings.kafka_port,
        controller_port=settings.kafka_controller_port,
        data_dir=data_dir,
        keystore=home.tls.broker_keystore,
        truststore=home.tls.ca_cert,
        admin=ADMIN,
        admin_password=admin_password,
    )


def principal_settings(settings: Settings, user: str) -> Settings:
    """`settings` authenticating as `user` of the secured broker whose home they name."""
    home = SecuredHome(Path(settings.kafka_home))
    return settings.model_copy(
        update={
            "kafka_security_protocol": "SASL_SSL",
            "kafka_username": user,
            "kafka_password": None,
            "kafka_password_file": home.password_file(user),
            "kafka_ssl_cafile": home.tls.ca_cert,
        }
    )


def principal_env(settings: Settings, user: str) -> dict[str, str]:
    """COEA_* variables that make a subprocess authenticate as `user` (no password inside)."""
    home = SecuredHome(Path(settings.kafka_home))
    return {
        "COEA_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "COEA_KAFKA_USERNAME": user,
        "COEA_KAFKA_PASSWORD_FILE": str(home.password_file(user)),
        "COEA_KAFKA_SSL_CAFILE": str(home.tls.ca_cert),
    }


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Write `text` to a file only its owner can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def container_files(template: str, out: Path, host: str, settings: Settings) -> list[Path]:
    """Credentials, server.properties and a start script for a broker in a container (the
    apache/kafka image, docker-compose.yml): it listens on all interfaces, is reached as
    `host`, keeps its data in /var/lib/kafka/data and creates the SCRAM users at format."""
    home = SecuredHome(out)
    passwords = ensure_credentials(home, [host, "localhost", "127.0.0.1"])
    token = home.secrets / "api.token"  # the worker's bearer token
    if not token.is_file():
        write_private(token, secrets.token_urlsafe(32) + "\n")
    config = out / "server.properties"
    write_private(
        config,
        render_config(
            template, settings, Path("/var/lib/kafka/data"), home, "0.0.0.0", advertised_host=host
        ),
    )
    users = " ".join(
        f'--add-scram "SCRAM-SHA-512=[name={u},password=$(cat {home.password_file(u)})]"'
        for u in passwords
    )
    script = out / "start-kafka.sh"
    write_private(
        script,
        "#!/bin/bash\n# Generated by `coea broker credentials`: format once with the SCRAM users, "
        "then run the broker.\nset -euo pipefail\n"
        "if [ ! -f /var/lib/kafka/data/meta.properties ]; then\n"
        f'  /opt/kafka/bin/kafka-storage.sh format -t "$(/opt/kafka/bin/kafka-storage.sh '
        f'random-uuid)" -c {config} {users}\n'
        "fi\n"
        f"exec /opt/kafka/bin/kafka-server-start.sh {config}\n",
        0o700,
    )
    return [home.tls.ca_cert, config, script, token]
