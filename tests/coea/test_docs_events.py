"""Every JSON example in docs/events.md is a valid record of the section it stands in."""

from __future__ import annotations

import json
import re

import pytest

from coea.schemas import (
    EVENT_ADAPTER,
    TABLE_ADAPTER,
    DeadLetter,
    ItemRecord,
    TrainingWindow,
    UserGroup,
)
from coea.settings import REPO_ROOT

SECTIONS = {
    "Events": EVENT_ADAPTER.validate_python,
    "Item catalogue": ItemRecord.model_validate,
    "Dead letters": DeadLetter.model_validate,
    "Training windows": TrainingWindow.model_validate,
    "User groups": UserGroup.model_validate,
    "Novel-category table": TABLE_ADAPTER.validate_python,
}


def _examples():
    text = (REPO_ROOT / "docs" / "events.md").read_text()
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        title = section.splitlines()[0]
        validator = next(v for k, v in SECTIONS.items() if title.startswith(k))
        for block in re.findall(r"```json\n(.*?)```", section, flags=re.S):
            yield title, validator, block


@pytest.mark.parametrize(("title", "validator", "block"), list(_examples()))
def test_doc_example_is_valid(title, validator, block):
    validator(json.loads(block))


def test_docs_have_an_example_per_section():
    assert {t.split(" (")[0] for t, _, _ in _examples()} == set(SECTIONS)
