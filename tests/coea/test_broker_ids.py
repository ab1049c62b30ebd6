"""KRaft cluster ids the broker control makes."""

from __future__ import annotations

import uuid

from coea import broker


def test_new_cluster_id_never_starts_with_a_dash(monkeypatch):
    # 0xf8 encodes to '-' as the first URL-safe base64 character.
    draws = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x00" * 16)])
    monkeypatch.setattr(broker.uuid, "uuid4", lambda: next(draws))
    assert broker._new_cluster_id() == "AAAAAAAAAAAAAAAAAAAAAA"


def test_new_cluster_id_is_22_url_safe_characters():
    ids = {broker._new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
