"""DSIE facade: planted-group recovery, assignment, cold start, save/load, summary."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from models.dsie import DSIE, DSIEConfig, GroupAssignment, UserSequence
from models.testing import planted_population

G = 6
pytestmark = pytest.mark.slow  # one ~5-10 s fit shared by the module


@pytest.fixture(scope="module")
def planted():
    return planted_population(n_users=300, n_groups=G, seed=1)


@pytest.fixture(scope="module")
def fitted(planted) -> DSIE:
    return DSIE.fit(planted.users, planted.item_categories, DSIEConfig.tiny(n_groups=G), False)


def test_planted_groups_are_recovered(planted, fitted):
    groups = [a.group for a in fitted.assign(planted.users)]
    nmi = normalized_mutual_info_score(planted.labels, groups)
    assert nmi >= 0.8, (nmi, fitted.summary())
    assert fitted.n_groups == G and set(groups) <= set(range(G))


def test_assign_gives_csids_of_the_configured_depth_and_cold_start_default(fitted, planted):
    cold = UserSequence("new", ["i00_000"], {"age": 30})
    unknown = UserSequence("odd", ["never-seen-1", "never-seen-2", "never-seen-3"])
    out = fitted.assign([planted.users[0], cold, unknown])
    assert all(isinstance(a, GroupAssignment) for a in out)
    assert out[0].user_id == planted.users[0].user_id and not out[0].cold_start
    assert len(out[0].csid) == fitted.config.rqvae.levels
    assert all(0 <= c < fitted.config.rqvae.codebook_size for c in out[0].csid)
    assert out[1].cold_start and out[1].group == fitted.default_group
    assert out[1].csid == fitted.profiles[fitted.default_group].csid
    assert not out[2].cold_start and 0 <= out[2].group < fitted.n_groups  # OOV items still map


def test_embed_shape_and_nearest_group_of_centroids(fitted, planted):
    u = fitted.embed(planted.users[:5])
    assert u.shape == (5, fitted.config.encoder.d) and np.isfinite(u).all()
    cents = fitted.group_map.centroids
    assert fitted.nearest_group(cents).tolist() == list(range(fitted.n_groups))
    assert fitted.nearest_group(cents[2]).tolist() == [2]


def test_profiles_cover_every_group_with_k_representatives(fitted):
    assert sorted(fitted.profiles) == list(range(fitted.n_groups))
    sizes = fitted.summary()["group_sizes"]
    for g, p in fitted.profiles.items():
        assert p.group == g and p.size == sizes[g]
        assert len(p.representatives) == min(fitted.config.k_representatives, p.size)
        assert p.top_categories and p.text.startswith(f"Group {g}:")


def test_planted_profiles_name_the_home_categories(fitted, planted):
    # every group's top category should be one its members mostly click
    for g, p in fitted.profiles.items():
        pairs = zip(planted.users, fitted.assign(planted.users), strict=True)
        members = [u for u, a in pairs if a.group == g]
        cats = [planted.item_categories[i] for u in members for i in u.long_items]
        top = max(set(cats), key=cats.count)
        assert top in p.top_categories


def test_save_load_round_trip_gives_identical_assignments(fitted, planted, tmp_path):
    out = fitted.save(tmp_path / "dsie")
    assert (out / "weights.safetensors").is_file() and (out / "manifest.json").is_file()
    loaded = DSIE.load(out)
    assert loaded.version == fitted.version
    users = planted.users[:80] + [UserSequence("cold", [])]
    assert loaded.assign(users) == fitted.assign(users)
    np.testing.assert_allclose(loaded.embed(users), fitted.embed(users), atol=1e-6)
    assert loaded.profiles == fitted.profiles and loaded.default_group == fitted.default_group
    assert loaded.summary() == fitted.summary()


def test_load_refuses_a_folder_without_artifact(tmp_path):
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        DSIE.load(tmp_path)


def test_summary_reports_groups_losses_and_code_usage(fitted):
    s = fitted.summary()
    assert s["n_groups"] == G and sum(s["group_sizes"]) == s["n_users"] - s["n_cold_start"]
    assert len(s["code_usage"]) == fitted.config.rqvae.levels
    assert all(0 < x <= 1 for x in s["code_usage"]) and s["recon_loss"] >= 0
    assert s["version"] == fitted.version


def test_fit_fails_early_on_a_bad_llm_path_and_without_warm_users(planted, tmp_path):
    cfg = DSIEConfig.tiny(profile_backend="llm", profile_model_dir=str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        DSIE.fit(planted.users, planted.item_categories, cfg, progress=False)
    cold = [replace(u, long_items=u.long_items[:1]) for u in planted.users[:10]]
    with pytest.raises(ValueError, match="long-term items"):
        DSIE.fit(cold, planted.item_categories, DSIEConfig.tiny(), progress=False)


def test_user_sequence_of_a_history_copies_what_dsie_reads():
    from coea.data.sequences import UserHistory

    hist = UserHistory("u1", ["i1", "i2"], ["a"], {"age": 30}, ["i3"])
    seq = UserSequence.of(hist)
    assert seq == UserSequence("u1", ["i1", "i2"], {"age": 30})
    hist.long_items.append("i9")
    hist.features["age"] = 31
    assert seq.long_items == ["i1", "i2"] and seq.features == {"age": 30}
