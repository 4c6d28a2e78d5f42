"""The small shared vocabularies: how a role is said, how a day is read, how a name is folded."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safetycli.days import parse_day
from safetycli.errors import SafetyError
from safetycli.names import fold_name, ident
from safetycli.roles import ROLES, role_name


@pytest.mark.parametrize(
    ("role", "said"),
    [
        ("first_ad", "1st AD"),
        ("dp", "DP"),
        ("upm", "UPM"),
        ("ad", "AD"),
        ("second_ad", "second AD"),
        ("safety_rep", "safety rep"),
        ("armorer", "armorer"),
    ],
)
def test_a_role_has_one_spelling_for_people(role: str, said: str) -> None:
    assert role_name(role) == said


def test_every_known_role_reads_without_underscores() -> None:
    assert all("_" not in role_name(role) for role in ROLES)


def test_a_day_is_read_as_iso_and_a_bad_one_names_the_option() -> None:
    assert parse_day(" 2026-11-23 ") == "2026-11-23"
    with pytest.raises(SafetyError) as err:
        parse_day("23/11/2026", "--from")
    assert err.value.message == (
        "--from '23/11/2026' is not a date: use YYYY-MM-DD, e.g. 2026-11-23"
    )


def test_names_fold_case_width_and_spaces() -> None:
    assert fold_name("  Sam   ORTIZ ") == fold_name("sam ortiz") == "sam ortiz"
    assert fold_name("\uff33am") == fold_name("Sam")  # a full-width S is still Sam
    assert fold_name("Sam") != fold_name("Sām")


@given(st.text() | st.text(alphabet=st.characters(max_codepoint=127)))
def test_names_and_serials_fold_as_nfkc_whether_ascii_or_not(typed: str) -> None:
    """ASCII skips the normalisation (NFKC changes none of it): the same identity either way."""
    nfkc = unicodedata.normalize("NFKC", typed).casefold()
    assert fold_name(typed) == " ".join(nfkc.split())
    assert ident(typed) == "".join(nfkc.split())
