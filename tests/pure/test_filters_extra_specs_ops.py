"""Nova's extra_specs operator language, quirk by quirk (reference §4)."""

from __future__ import annotations

import pytest

from novalog.scheduler.filters.extra_specs_ops import ExtraSpecError, match


@pytest.mark.parametrize(
    ("value", "req", "expected"),
    [
        # --- no operator: the whole requirement is compared as one string
        pytest.param("1", "1", True, id="plain-equal"),
        pytest.param("1", "2", False, id="plain-differs"),
        pytest.param("12311321", "12311321 ", False, id="plain-trailing-space-is-part-of-the-string"),
        pytest.param("", "", True, id="empty-req-equals-empty-value"),
        pytest.param("x", "", False, id="empty-req-is-whole-string-equality"),
        pytest.param(None, "1", False, id="plain-none-value"),
        pytest.param("> 2", "> 2", True, id="gt-is-not-an-operator-whole-string"),
        pytest.param("3", "> 2", False, id="gt-is-not-an-operator-3-not-greater"),
        pytest.param("1", "< 2", False, id="lt-is-not-an-operator"),
        pytest.param("bogus 1", "bogus 1", True, id="unknown-first-word-whole-string"),
        # --- "=" means at least: float(value) >= float(arg)
        pytest.param("123", "= 123", True, id="eq-123-at-least-123"),
        pytest.param("124", "= 123", True, id="eq-124-at-least-123-not-equality"),
        pytest.param("122", "= 123", False, id="eq-122-below-123"),
        pytest.param("123.0", "= 123", True, id="eq-numeric-123.0-vs-123"),
        # --- numeric comparisons (float)
        pytest.param("2.0", "== 2", True, id="numeq-2.0-is-2"),
        pytest.param("3", "== 2", False, id="numeq-3-is-not-2"),
        pytest.param("3", "!= 2", True, id="numne-3-vs-2"),
        pytest.param("2", "!= 2.0", False, id="numne-2-vs-2.0"),
        pytest.param("10", ">= 9", True, id="ge-10-vs-9-numeric-not-lexicographic"),
        pytest.param("9", ">= 10", False, id="ge-9-vs-10"),
        pytest.param("9", "<= 10", True, id="le-9-vs-10"),
        pytest.param("11", "<= 10", False, id="le-11-vs-10"),
        # --- string comparisons, lexicographic
        pytest.param("abc", "s== abc", True, id="seq"),
        pytest.param("2.0", "s== 2", False, id="seq-is-not-numeric"),
        pytest.param("abc", "s!= abd", True, id="sne"),
        pytest.param("abc", "s!= abc", False, id="sne-same"),
        pytest.param("9", "s> 10", True, id="sgt-9-after-10-lexicographically"),
        pytest.param("10", "s> 9", False, id="sgt-10-before-9"),
        pytest.param("a", "s>= a", True, id="sge-equal"),
        pytest.param("a", "s>= b", False, id="sge-less"),
        pytest.param("10", "s< 9", True, id="slt-10-before-9"),
        pytest.param("b", "s< a", False, id="slt-greater"),
        pytest.param("a", "s<= a", True, id="sle-equal"),
        pytest.param("b", "s<= a", False, id="sle-greater"),
        # --- further words are ignored: only the first operand counts
        pytest.param("abc", "s== abc def", True, id="seq-ignores-second-operand"),
        pytest.param("abc def", "s== abc def", False, id="seq-value-with-space-never-matches"),
        pytest.param("5", ">= 4 100", True, id="ge-ignores-second-operand"),
        # --- operator without operand: False
        pytest.param("1", "s==", False, id="seq-without-operand"),
        pytest.param("1", ">=", False, id="ge-without-operand"),
        pytest.param("1", "<in>", False, id="in-without-operand"),
        pytest.param("1", "<all-in>", False, id="all-in-without-operand"),
        pytest.param(None, "= 1", False, id="none-value-with-operator"),
        # --- <in>: substring
        pytest.param("12311321", "<in> 11", True, id="in-substring"),
        pytest.param("12311321", "<in> 12311321", True, id="in-whole"),
        pytest.param("12310321", "<in> 11", False, id="in-not-substring"),
        pytest.param("aes sse2", "<in> aes sse4", True, id="in-only-first-word"),
        # --- <all-in>: every further word is a substring (Kilo+)
        pytest.param("aes mmx aux", "<all-in> aes mmx", True, id="all-in-both"),
        pytest.param("aes mmx aux", "<all-in> aes txt", False, id="all-in-one-missing"),
        pytest.param("aes", "<all-in> ae", True, id="all-in-substring-not-word"),
        # --- <or>: alternatives at positions 1, 3, 5...
        pytest.param("12", "<or> 11 <or> 12", True, id="or-second-alternative"),
        pytest.param("13", "<or> 11 <or> 12", False, id="or-no-alternative"),
        pytest.param("11", "<or> 11", True, id="or-single"),
        pytest.param("12", "<or> 11 12", False, id="or-a-b-tests-only-a"),
        pytest.param("13", "<or> 11 12 13", True, id="or-a-b-c-tests-a-and-c"),
        pytest.param("12", "<or> 11 and 12", True, id="or-separator-word-is-not-read"),
        pytest.param("11", "<or> 11 <or>", True, id="or-trailing-or"),
        pytest.param(None, "<or>", False, id="bare-or-with-none-value-is-false-not-raise"),
    ],
)
def test_match(value, req, expected) -> None:
    assert match(value, req) is expected


@pytest.mark.parametrize(
    ("value", "req"),
    [
        pytest.param("1", "<or>", id="bare-or"),
        pytest.param("abc", "= 1", id="eq-non-numeric-value"),
        pytest.param("1", "= abc", id="eq-non-numeric-operand"),
        pytest.param("1", ">= x", id="ge-non-numeric-operand"),
        pytest.param("", "!= 1", id="ne-empty-value"),
    ],
)
def test_match_raises(value, req) -> None:
    with pytest.raises(ExtraSpecError):
        match(value, req)


def test_extra_spec_error_is_a_value_error() -> None:
    # Callers that map bad requests to a failure catch ValueError.
    assert issubclass(ExtraSpecError, ValueError)
