"""The nesting bound: json_too_deep agrees with a real parser's depth on any JSON, strings full of brackets,
quotes and backslashes included."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medreach.core.errors import AppError
from medreach.core.http import check_json_depth, json_too_deep

tricky_text = st.text(alphabet=st.sampled_from(list('[]{}"\\ab\n\u4e2d')), max_size=12)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(tricky_text, children, max_size=4),
    max_leaves=60,
)


def depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=400, deadline=None)
@given(values, st.integers(min_value=0, max_value=8))
def test_agrees_with_the_parsed_depth(value, limit):
    body = json.dumps(value, ensure_ascii=False).encode()
    assert json_too_deep(body, limit) == (depth(value) > limit), body


@pytest.mark.parametrize("body, deep", [
    (b"[" * 33 + b"]" * 33, True),
    (b"[" * 32 + b"]" * 32, False),
    (b"[" * 2000, True),  # unbalanced: still refused, the parser would recurse before it noticed
    (b'["' + b"]" * 100 + b'", ' + b"[" * 40 + b"]" * 40 + b"]", True),  # closers in a string hide nothing
    (b'["' + b"[" * 100 + b'"]', False),
    (b'["\\\\", ' + b"[" * 40 + b"]" * 40 + b"]", True),  # an escaped backslash ends no string early
    (b'["a\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]', False),  # an escaped quote ends no string
    (b'["a\\nb", ' + b"[" * 40 + b"]" * 40 + b"]", True),
])
def test_hand_made_cases(body, deep):
    assert json_too_deep(body, 32) is deep


def test_a_bracket_in_a_top_level_string_is_no_nesting():
    assert json_too_deep(b'"["', 0) is False
    assert json_too_deep(b'["["]', 0) is True


def test_check_raises_the_400():
    with pytest.raises(AppError, match="BODY_TOO_DEEP") as e:
        check_json_depth(b"[" * 40 + b"]" * 40, 32)
    assert e.value.status == 400 and e.value.params == {"limit": 32}
