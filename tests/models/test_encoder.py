"""Long-term CSA encoder: shapes, causal mask, features, vocabulary, training."""

from __future__ import annotations

import pytest
import torch

from models.encoder import (
    OOV,
    EncoderConfig,
    ItemVocab,
    LongTermEncoder,
    collate,
    embed_users,
    encode_user,
    feature_ids,
    feature_tokens,
    train_encoder,
)

CFG = EncoderConfig(d=32, n_layers=2, n_heads=2, max_len=20, dropout=0.0, epochs=3, lr=3e-3)


def _model(n_items: int = 30, **kw) -> LongTermEncoder:
    torch.manual_seed(0)
    cfg = EncoderConfig(**(CFG.__dict__ | kw))
    return LongTermEncoder(cfg, n_items + 2).eval()


def _batch(seqs: list[list[int]], feats=None):
    from models.encoder import EncodedUser

    users = [EncodedUser(s, f) for s, f in zip(seqs, feats or [[0]] * len(seqs), strict=True)]
    return collate(users)


def test_shapes_and_u_long_is_last_real_position():
    m = _model()
    b = _batch([[2, 3, 4, 5], [6, 7]])
    h = m(b["items"], b["feats"], b["feat_offsets"])
    assert h.shape == (2, 5, 32)  # sparse token + 4 items
    u = m.u_long(h, b["lengths"])
    assert u.shape == (2, 32)
    assert torch.allclose(u[0], h[0, 4]) and torch.allclose(u[1], h[1, 2])


def test_encode_last_equals_u_long_of_the_full_forward():
    m = _model()
    b = _batch([[2, 3, 4, 5, 6, 7], [8], [], [9, 10, 11]], [[0], [3, 4], [5], [1]])
    with torch.no_grad():
        full = m.u_long(m(b["items"], b["feats"], b["feat_offsets"]), b["lengths"])
        last = m.encode_last(b["items"], b["feats"], b["feat_offsets"], b["lengths"])
    assert last.shape == full.shape == (4, CFG.d)
    torch.testing.assert_close(last, full, atol=1e-5, rtol=1e-5)


def test_causal_mask_later_items_never_change_earlier_outputs():
    m = _model()
    a = _batch([[2, 3, 4, 5, 6, 7]])
    b = _batch([[2, 3, 4, 9, 10, 11]])  # differs from item index 3 (position 4) on
    ha = m(a["items"], a["feats"], a["feat_offsets"])
    hb = m(b["items"], b["feats"], b["feat_offsets"])
    assert torch.allclose(ha[0, :4], hb[0, :4], atol=1e-6)
    assert not torch.allclose(ha[0, 4:], hb[0, 4:], atol=1e-4)


def test_padding_does_not_change_u_long():
    m = _model()
    alone = _batch([[2, 3]])
    padded = _batch([[2, 3], [4, 5, 6, 7, 8]])
    ua = m.u_long(m(alone["items"], alone["feats"], alone["feat_offsets"]), alone["lengths"])
    up = m.u_long(m(padded["items"], padded["feats"], padded["feat_offsets"]), padded["lengths"])
    assert torch.allclose(ua[0], up[0], atol=1e-5)


def test_sparse_features_are_prepended_and_matter():
    m = _model()
    f1 = feature_ids({"age": 25, "gender": "F"}, CFG.feature_buckets)
    f2 = feature_ids({"age": 60, "gender": "M"}, CFG.feature_buckets)
    b = _batch([[2, 3], [2, 3]], [f1, f2])
    u = m.u_long(m(b["items"], b["feats"], b["feat_offsets"]), b["lengths"])
    assert not torch.allclose(u[0], u[1])


def test_feature_tokens_bucket_numbers_and_bools():
    assert feature_tokens({"age": 24}) == feature_tokens({"age": 25})  # same half-octave
    assert feature_tokens({"age": 25}) != feature_tokens({"age": 60})
    assert feature_tokens({"vip": True}) == ["vip=true"]
    assert feature_tokens({"b": "x", "a": 1.0}) == ["a=#2", "b=x"]  # sorted keys
    assert feature_ids({}, 64) == [0]
    assert all(0 < i < 64 for i in feature_ids({"a": "x", "b": 3}, 64))


def test_vocab_maps_unseen_items_to_oov_and_keeps_recent_items():
    vocab = ItemVocab(["a", "b", "a", "c"])
    assert len(vocab) == 5 and vocab.encode(["a", "zzz", "c"]) == [2, OOV, 4]
    cfg = EncoderConfig(max_len=2)
    assert encode_user(vocab, ["a", "b", "c"], {}, cfg).items == [3, 4]


@pytest.mark.slow  # first training call pays torch's warm-up: > 5 s on a loaded machine
def test_training_lowers_next_item_loss_full_and_sampled_softmax():
    vocab = ItemVocab(str(i) for i in range(20))
    # two interleaved "tastes": even users walk 0..9, odd users walk 10..19
    seqs = [[str((j + u) % 10 + 10 * (u % 2)) for j in range(12)] for u in range(40)]
    for negatives in (0, 5):
        torch.manual_seed(0)
        cfg = EncoderConfig(
            **(CFG.__dict__ | {"epochs": 4, "n_negatives": negatives, "batch_size": 8})
        )
        model = LongTermEncoder(cfg, len(vocab))
        before = [p.detach().clone() for p in model.parameters()]
        users = [encode_user(vocab, s, {}, cfg) for s in seqs]
        hist = train_encoder(model, users, seed=0)
        assert hist[-1] < hist[0] * 0.8, hist
        assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
        u = embed_users(model, users)
        assert u.shape == (40, 32) and torch.isfinite(u).all()
