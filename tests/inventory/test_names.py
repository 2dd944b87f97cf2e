import pytest
from hypothesis import given
from hypothesis import strategies as st

from mops.errors import InvalidNameError
from mops.inventory.names import MODEL_RE, parse_ref, validate_model, validate_version


@pytest.mark.parametrize("name", ["credit-pd", "a", "m.v2_x-1", "0abc", "a" * 63])
def test_valid_model_names(name):
    assert validate_model(name) == name


@pytest.mark.parametrize("name,why", [
    ("", "empty"), ("..", "'..'"), ("a/b", "separators"), ("a\\b", "separators"),
    ("../etc", "'..'"), ("Credit", "lowercase"), ("-x", "starting"), ("a" * 64, "longer than 63"),
    ("a b", "lowercase"), ("café", "lowercase"), ("crеdit", "lowercase"),  # Cyrillic е
    ("a\x00b", "lowercase"), ("a\nb", "lowercase"), (".hidden", "starting"),
])
def test_invalid_model_names(name, why):
    with pytest.raises(InvalidNameError, match=why):
        validate_model(name)


@pytest.mark.parametrize("name", ["1.2.0", "v1", "1.0.0+build.5", "2026_01", "A-1"])
def test_valid_versions(name):
    assert validate_version(name) == name


@pytest.mark.parametrize("name", ["", "..", "1/2", ".1", "+1", "1..2", "x" * 64])
def test_invalid_versions(name):
    with pytest.raises(InvalidNameError):
        validate_version(name)


def test_parse_ref():
    ref = parse_ref("credit-pd@1.2.0")
    assert (ref.model, ref.version, str(ref)) == ("credit-pd", "1.2.0", "credit-pd@1.2.0")
    assert parse_ref("credit-pd").version is None
    with pytest.raises(InvalidNameError, match="nothing after '@'"):
        parse_ref("credit-pd@")
    with pytest.raises(InvalidNameError, match="needs a version"):
        parse_ref("credit-pd", require_version=True)


@given(st.text(max_size=80))
def test_validator_never_accepts_a_path_escape(name):
    """Whatever the input, an accepted name is a single safe path component."""
    try:
        validate_model(name)
    except InvalidNameError:
        return
    assert MODEL_RE.fullmatch(name)
    assert "/" not in name and "\\" not in name and ".." not in name and name not in (".", "")
    assert name.isascii() and name == name.strip()
