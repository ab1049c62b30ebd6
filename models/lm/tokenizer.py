"""Word-level tokenizer for the built-in small LMs.

Built locally with the `tokenizers` library (no hub) and wrapped as a `PreTrainedTokenizerFast`
so trl/transformers use it like any other. Every category is ONE added token, even when its
name holds spaces or '|' (MovieLens genre combos such as ``Action|Comedy``): added tokens are
matched before pre-tokenisation, leftmost-longest. Group ids get tokens ``<g12>``; profile text
is split on whitespace and punctuation, unknown words map to ``<unk>``.

Pitfall (stack-notes): never load this folder with ``AutoTokenizer`` next to a ``qwen2``
config.json; it would silently build Qwen2's BPE and encode everything to ``[]``. Use
`load_tokenizer`, and `encode_checked` wherever an empty encoding would be a silent bug.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
PROFILE, SHORT, CANDIDATE, NOVEL = "<profile>", "<short>", "<cand>", "<novel>"
LONG = "<long>"  # precedes the user's long-term categories in a prompt
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS, PROFILE, SHORT, CANDIDATE, NOVEL, LONG)
COLD_GROUP = "<g-cold>"

_WORD = re.compile(r"\w+|[^\w\s]+")


def group_token(group: int | None) -> str:
    """The token of a DSIE group id (`None` or a negative id: the cold-start token)."""
    return COLD_GROUP if group is None or group < 0 else f"<g{int(group)}>"


def profile_words(texts: Iterable[str], min_count: int = 1) -> list[str]:
    """Words (as the tokenizer splits them) of profile texts, most frequent first."""
    counts = Counter(w for t in texts for w in _WORD.findall(t))
    return [w for w, n in counts.most_common() if n >= min_count]


def build_tokenizer(
    categories: Sequence[str],
    groups: Iterable[int] = (),
    texts: Iterable[str] = (),
    min_word_count: int = 1,
) -> PreTrainedTokenizerFast:
    """Build the word-level tokenizer.

    Args:
        categories: every category name; each becomes one token.
        groups: DSIE group ids; each becomes a ``<gN>`` token (plus the cold-start token).
        texts: profile texts whose words enter the vocabulary.
        min_word_count: words seen fewer times map to ``<unk>``.
    """
    if not categories:
        raise ValueError("build_tokenizer needs at least one category")
    if any(not c or c != c.strip() for c in categories):
        raise ValueError("category names must be non-empty without leading/trailing spaces")
    cats = list(dict.fromkeys(categories))
    words = [w for w in profile_words(texts, min_word_count) if w not in cats]
    vocab = {t: i for i, t in enumerate([*SPECIAL_TOKENS, *words])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in SPECIAL_TOKENS])
    group_tokens = [COLD_GROUP, *(group_token(g) for g in sorted(set(groups)))]
    tok.add_tokens([AddedToken(t, normalized=False) for t in [*cats, *group_tokens]])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token=PAD, unk_token=UNK, bos_token=BOS, eos_token=EOS
    )
    fast.padding_side = "left"  # batch scoring/generation reads the last position
    check_single_tokens(fast, cats)
    return fast


def load_tokenizer(folder: str | Path) -> PreTrainedTokenizerFast:
    """Load a tokenizer saved by `build_tokenizer` (never through AutoTokenizer)."""
    folder = Path(folder)
    if not (folder / "tokenizer.json").is_file():
        raise FileNotFoundError(f"{folder} holds no tokenizer.json")
    tok = PreTrainedTokenizerFast.from_pretrained(str(folder), local_files_only=True)
    tok.padding_side = "left"
    if not encode_checked(tok, EOS):
        raise ValueError(f"tokenizer in {folder} does not know {EOS}")
    return tok


def encode_checked(
    tokenizer: PreTrainedTokenizerBase, text: str, add_special_tokens: bool = False
) -> list[int]:
    """Token ids of `text`; raises if a non-blank text encodes to [] (the silent-empty trap).

    trl tokenizes whole prompts with the tokenizer's defaults (``add_special_tokens=True``);
    pass that for prompts so scoring sees what training saw.
    """
    ids = tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"]
    _check_encoded(tokenizer, text, ids)
    return ids


def encode_all_checked(
    tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], add_special_tokens: bool = False
) -> list[list[int]]:
    """`encode_checked` of each text, in one tokenizer call (a fast tokenizer encodes the
    batch at once instead of paying Python's per-call cost for every text)."""
    if not texts:
        return []
    out = tokenizer(list(texts), add_special_tokens=add_special_tokens)["input_ids"]
    for text, ids in zip(texts, out, strict=True):
        _check_encoded(tokenizer, text, ids)
    return out


def _check_encoded(tokenizer: PreTrainedTokenizerBase, text: str, ids: list[int]) -> None:
    if text.strip() and not ids:
        raise ValueError(
            f"tokenizer {type(tokenizer).__name__} encoded {text[:60]!r} to no tokens: wrong "
            "tokenizer for this model folder? (load built-in tokenizers with load_tokenizer)"
        )


def check_single_tokens(tokenizer: PreTrainedTokenizerBase, categories: Sequence[str]) -> list[int]:
    """Ids of the categories, asserting each is one token that round-trips."""
    ids = single_token_ids(tokenizer, categories)
    if ids is None:
        bad = [c for c in categories if len(encode_checked(tokenizer, " " + c)) != 1]
        raise ValueError(f"categories not encoded as one token: {bad[:5]}")
    return ids


def single_token_ids(
    tokenizer: PreTrainedTokenizerBase, categories: Sequence[str]
) -> list[int] | None:
    """One id per category when every category encodes (after a space) to exactly one token."""
    ids = []
    for c in categories:
        enc = encode_checked(tokenizer, " " + c)
        if len(enc) != 1 or tokenizer.convert_ids_to_tokens(enc[0]) != c:
            return None
        ids.append(enc[0])
    return ids if len(set(ids)) == len(ids) else None
