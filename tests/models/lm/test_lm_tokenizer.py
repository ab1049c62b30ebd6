"""Built-in word-level tokenizer: one token per category, no silent empty encodings."""

from __future__ import annotations

import pytest

from models.lm.tokenizer import (
    EOS,
    NOVEL,
    build_tokenizer,
    encode_checked,
    group_token,
    load_tokenizer,
    single_token_ids,
)

CATS = [
    "Action",
    "Action|Comedy",
    "Children's",
    "Comedy",
    "Science Fiction",
    "Fiction",
    "Film-Noir",
]


def test_every_category_is_one_token_even_with_spaces_and_bars():
    tok = build_tokenizer(CATS, groups=[0, 12], texts=["Group 12: prefers Action|Comedy."])
    ids = single_token_ids(tok, CATS)
    assert ids is not None and len(set(ids)) == len(CATS)
    text = " ".join(CATS)
    assert tok.convert_ids_to_tokens(encode_checked(tok, text)) == CATS


def test_special_group_and_profile_tokens_encode():
    tok = build_tokenizer(CATS, groups=[3], texts=["Group 3 likes films"])
    tokens = tok.convert_ids_to_tokens(
        encode_checked(tok, f"Group 3 likes <g3> {NOVEL} Action{EOS}")
    )
    assert tokens == ["Group", "3", "likes", "<g3>", NOVEL, "Action", EOS]
    assert group_token(None) == group_token(-1) == "<g-cold>"
    unknown = encode_checked(tok, "zebra")
    assert unknown == [tok.unk_token_id]


def test_roundtrip_through_folder(tmp_path):
    tok = build_tokenizer(CATS, groups=[1])
    tok.save_pretrained(tmp_path)
    again = load_tokenizer(tmp_path)
    text = "<bos> <g1> Action|Comedy Children's"
    assert encode_checked(again, text) == encode_checked(tok, text)
    assert again.padding_side == "left" and again.pad_token_id == tok.pad_token_id


def test_empty_encoding_is_an_error():
    class Broken:
        def __call__(self, text, add_special_tokens=False):
            return {"input_ids": []}

    with pytest.raises(ValueError, match="no tokens"):
        encode_checked(Broken(), "Drama")
    assert encode_checked(Broken(), "  ") == []


def test_bad_category_names_rejected():
    with pytest.raises(ValueError):
        build_tokenizer([])
    with pytest.raises(ValueError):
        build_tokenizer([" Drama"])


def test_encoding_many_texts_at_once_equals_one_by_one():
    from models.lm.tokenizer import encode_all_checked

    tok = build_tokenizer(["Drama", "Comedy", "Sci-Fi"])
    texts = ["<bos> Drama Comedy", "Sci-Fi", "Comedy Comedy Drama Sci-Fi"]
    for special in (False, True):
        assert encode_all_checked(tok, texts, special) == [
            encode_checked(tok, t, special) for t in texts
        ]
    assert encode_all_checked(tok, []) == []
