import pytest

from mops.errors import RecordError
from mops.inventory import records, yamlio

GOOD = b"---\nid: credit-pd\nowner: alice@acme.test\ntier: 1\nlicense: mit\n---\n# Body\n"


def test_card_with_hugging_face_keys_loads():
    card = records.load_card("card.md", GOOD, expected_id="credit-pd")
    assert card.id == "credit-pd" and card.tier == 1 and card.front["license"] == "mit"
    assert card.body.strip() == "# Body"


@pytest.mark.parametrize("data,message", [
    (b"id: x\n", "card.md:1: a model card must start with '---'"),
    (b"---\nid: credit-pd\n# no closing fence\n", "card.md:1: the front matter opened on line 1 is never closed"),
    (b"---\nid: credit-pd\ntier: [1\n---\n", "card.md:4:1: invalid YAML"),
    (b"---\nid: other\n---\n", "card.md:2: the card's id is 'other' but the model is 'credit-pd'"),
    (b"---\nowner: a@b.c\n---\n", "card.md:2: the front matter has no 'id'"),
    (b"---\nid: credit-pd\ntier: high\n---\n", "card.md:3: 'tier' must be a whole number"),
    (b"---\nid: credit-pd\n\nowner: nobody\n---\n", "card.md:4: 'owner' must be an e-mail address"),
    (b"---\nid: credit-pd\nreview: {last: soon}\n---\n", "card.md:3: 'review.last' must be a date"),
    (b"---\nid: credit-pd\n---\n\xff\xfe", "card.md:4: not valid UTF-8"),
    (b"---\nid: credit-pd\x00\n---\n", "card.md: binary file"),
])
def test_bad_cards_name_file_and_line(data, message):
    with pytest.raises(RecordError) as err:
        records.load_card("card.md", data, expected_id="credit-pd")
    assert str(err.value).startswith(message), str(err.value)


def test_yaml_alias_bomb_is_refused_quickly():
    bomb = b"---\nid: credit-pd\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a]\n" \
           b"c: [*b, *b, *b, *b, *b, *b, *b, *b]\n---\n"
    with pytest.raises(RecordError, match=r"card.md:4:\d+: YAML aliases"):
        records.load_card("card.md", bomb, expected_id="credit-pd")


def test_deeply_nested_document_is_refused():
    deep = b"---\nid: credit-pd\nx: " + b"[" * 100 + b"]" * 100 + b"\n---\n"
    with pytest.raises(RecordError, match="nested more than"):
        records.load_card("card.md", deep, expected_id="credit-pd")


def test_oversized_record_names_its_size():
    with pytest.raises(RecordError, match="bytes; records may be at most"):
        yamlio.decode("big.yaml", b"a: 1\n" * 300_000)


def test_python_tags_are_not_executed():
    with pytest.raises(RecordError, match="invalid YAML"):
        yamlio.load_yaml("x.yaml", "!!python/object/apply:os.system ['echo hi']")


def test_settings_validation():
    s = records.load_settings("mops.yaml", b"inventory: Acme\nroles: {validator: [Carol@Acme.test]}\n")
    assert s.people_for("validator") == ("carol@acme.test",)
    assert s.stages == records.DEFAULT_STAGES
    with pytest.raises(RecordError, match=r"mops.yaml:2: 'carol' in role 'validator' is not an e-mail"):
        records.load_settings("mops.yaml", b"inventory: Acme\nroles: {validator: [carol]}\n")
    with pytest.raises(RecordError, match=r"mops.yaml:2: 'signing' must be"):
        records.load_settings("mops.yaml", b"inventory: Acme\nsigning: maybe\n")


def test_digest_cache_notices_a_same_size_swap_with_the_old_mtime(inventory, mops, tmp_path):
    """A file swapped for one of the same size, its mtime put back, is hashed again."""
    import os

    from mops.inventory.digest import DigestCache, sha256_file
    from mops.inventory.store import Inventory
    from tests.conftest import write_card

    mops("register", "credit-pd", "--version", "1", "--card", str(write_card(tmp_path / "c.md")))
    doc = tmp_path / "report.txt"
    doc.write_text("A" * 1000)
    mops("evidence", "add", "credit-pd@1", str(doc), "--kind", "benchmarking")
    inv = Inventory.open(inventory)
    version = inv.model("credit-pd").version("1")
    rel = f"{version.dir}/{version.evidence[0].files[0].path}"
    cache = DigestCache(inv)
    first = cache.file_sha256(rel)
    cache.save()
    target = inventory / rel
    st = target.stat()
    target.write_text("B" * 1000)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    again = DigestCache(Inventory.open(inventory)).file_sha256(rel)
    assert again != first and again == sha256_file(target)[0]
