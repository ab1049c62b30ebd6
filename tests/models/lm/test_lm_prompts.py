"""Prompt builder: eq. 8 / eq. 11, the appendix length rule and the ablation switches."""

from __future__ import annotations

import pytest

from models.lm.prompts import PromptBuilder, completion, last_categories
from models.lm.tokenizer import NOVEL, build_tokenizer, encode_checked


def test_last_two_rule():
    assert last_categories(["a", "b", "c", "d"]) == ["c", "d"]
    assert last_categories(["a"]) == ["a"]
    assert last_categories([]) == []


def test_tokens_prompts_hold_profile_group_last_two_and_trigger():
    b = PromptBuilder()
    p = b.novelty("Group 4: likes Drama", 4, ["A", "B", "C"], trigger=True)
    assert p.split()[-4:] == ["<short>", "B", "C", NOVEL]
    assert "<g4>" in p and "likes" in p
    assert NOVEL not in b.novelty("x", 4, ["A", "B"], trigger=False)
    r = b.relevance_text("x", 4, ["A", "B", "C"], "D")
    assert r.endswith("B C <cand> D")


def test_ablations_drop_their_part():
    no_long = PromptBuilder(use_profile=False).novelty("likes Drama", 4, ["A", "B"], True)
    assert "<g4>" not in no_long and "likes" not in no_long and "A B" in no_long
    no_short = PromptBuilder(use_short=False).novelty("likes Drama", 4, ["A", "B"], True)
    assert "<g4>" in no_short and " A " not in no_short


def test_text_templates_for_checkpoints():
    b = PromptBuilder(style="text")
    nov = b.novelty("Movie lovers", 2, ["Drama", "Comedy", "Action|Comedy"], trigger=True)
    assert "#Categories: Comedy, Action|Comedy" in nov and "novel" in nov
    rel = b.relevance_text("Movie lovers", 2, ["Drama"], "War")
    assert "#Category1: Drama" in rel and rel.endswith("#Category2: War")
    with pytest.raises(ValueError):
        PromptBuilder(style="chat")


def test_prompts_encode_to_tokens():
    cats = ["Drama", "Comedy|Drama", "Children's"]
    tok = build_tokenizer(cats, groups=[1], texts=["Group 1 likes Drama"])
    p = PromptBuilder().novelty("Group 1 likes Drama", 1, cats, True) + completion("Drama")
    ids = encode_checked(tok, p)
    assert tok.unk_token_id not in ids and len(ids) >= 8


def test_long_summary_most_clicked_first_ties_by_recency():
    from models.lm.prompts import long_summary

    assert long_summary(["A", "B", "B", "C", "A", "D"], 3) == ["A", "B", "D"]
    assert long_summary(["A", "B"], 0) == []


def test_own_long_term_categories_in_both_styles():
    long = ["War", "Drama", "War"]
    p = PromptBuilder(n_long=2).novelty("x", 4, ["A", "B"], True, long)
    assert p.split()[-8:] == ["<g4>", "<long>", "War", "Drama", "<short>", "A", "B", NOVEL]
    assert "<long>" not in PromptBuilder().novelty("x", 4, ["A", "B"], True, long)
    # w/o long-term drops the user's own history with the group's profile
    assert "<long>" not in PromptBuilder(n_long=2, use_profile=False).novelty(
        "x", 4, ["A", "B"], True, long
    )
    r = PromptBuilder(n_long=2).relevance_text("x", 4, ["A"], "C", long)
    assert "<long> War Drama <short> A <cand> C" in r
    t = PromptBuilder(style="text", n_long=1).relevance_text("x", 4, ["A"], "C", long)
    assert "#History: War\n#Category1: A" in t
    assert "#History" not in PromptBuilder(style="text").novelty("x", 4, ["A"], True, long)
