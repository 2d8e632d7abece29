"""ImageNet classes, WordNet groups and --class resolution (jaxstyle.select.classes, jaxstyle.select.wordnet)."""
import csv
import json

import pytest

from jaxstyle.cli import class_groups_cli
from jaxstyle.select import classes as C
from jaxstyle.select import wordnet as W
from jaxstyle.errors import UsageError


@pytest.mark.parametrize("spec,name,idx", [
    ("dog", "dog", list(range(151, 269))),
    ("Dog", "dog", list(range(151, 269))),
    ("n02084071", "dog", list(range(151, 269))),
    ("dog.n.01", "dog", list(range(151, 269))),
    ("cat", "cat", [281, 282, 283, 284, 285]),
    ("domestic cat", "cat", [281, 282, 283, 284, 285]),
    ("02121808", "cat", [281, 282, 283, 284, 285]),
    ("281-285", "281-285", [281, 282, 283, 284, 285]),
    ("golden retriever", "golden_retriever", [207]),
    ("Golden-Retriever", "golden_retriever", [207]),
    ("207", "golden_retriever", [207]),
    ("Peke", "Pekinese", [154]),
    ("tabby, tiger_cat", "tabby+tiger_cat", [281, 282]),
    ("134", "n02012849", [134]),
    ("tank", "tank", [847]),  # a class name wins over the tank (container) group
])
def test_resolve(spec, name, idx):
    assert C.resolve(spec) == (name, idx)


def test_resolve_groups_exist():
    for g in ("bird", "car", "fish", "snake", "monkey", "bear", "insect", "truck", "boat", "fruit"):
        name, idx = C.resolve(g)
        assert name == g and len(idx) >= 2


@pytest.mark.parametrize("bad,match", [
    ("doggo", "did you mean dog"), ("cats", "did you mean cat"), ("crane", "ambiguous"),
    ("1000", "out of range"), ("", "empty"), ("dog,,", None), ("zzzzqq", "unknown class"),
])
def test_resolve_errors(bad, match):
    if match is None:
        assert C.resolve(bad)[0] == "dog"
        return
    with pytest.raises(UsageError, match=match):
        C.resolve(bad)


def test_groups_agree_with_csv_flags_and_round_trip():
    rows = list(csv.DictReader(open(C.DATA_DIR / "imagenet_classes.csv")))
    assert C.resolve("dog")[1] == [int(r["class_index"]) for r in rows if r["is_dog"] == "1"]
    assert C.resolve("cat")[1] == [int(r["class_index"]) for r in rows if r["is_domestic_cat"] == "1"]
    groups = C.groups()
    assert len(groups) == len(C.table().groups)  # unique names
    for g in groups.values():
        assert C.resolve(g.name) == (g.name, list(g.classes))  # every group name resolves to itself
        assert C.resolve(g.wnid) == (g.name, list(g.classes))


def test_group_table_is_small():
    assert (C.DATA_DIR / "class_groups.json").stat().st_size < 300_000


def test_wordnet_builder_on_a_tiny_data_noun():
    data = [
        "  1 This software and database is being provided",
        "00000001 03 n 01 entity 0 000 | root",
        "00000002 05 n 01 animal 0 001 @ 00000001 n 0000 | animals",
        "00000003 05 n 02 dog 0 domestic_dog 0 001 @ 00000002 n 0000 | dogs",
        "00000004 05 n 01 beagle 0 001 @ 00000003 n 0000 | a hound",
        "00000005 05 n 01 pug 0 001 @ 00000003 n 0000 | a toy",
        "00000006 05 n 01 Lassie 0 001 @i 00000003 n 0000 | a famous dog",
        "00000007 05 n 01 cat 0 001 @ 00000008 n 0000 | cats",
        "00000008 05 n 01 feline 0 001 @ 00000002 n 0000 | cats and kin",
    ]
    index = ["dog n 1 1 @ 1 0 00000003", "animal n 1 1 @ 1 0 00000002", "entity n 1 0 1 0 00000001"]
    syn = W.parse_data_noun(data)
    assert syn["00000006"].hypernyms == ("00000003",)  # instance hypernym followed
    assert W.ancestors("00000004", syn) == {"00000003", "00000002", "00000001"}
    table = [(0, "n00000004"), (1, "n00000005"), (2, "n00000006"), (3, "n00000007")]
    saved = dict(W.CURATED)
    W.CURATED.clear()
    try:
        groups = W.build_groups(table, syn, W.parse_index_noun(index), reserved={"entity"})
        one = W.build_groups(table, syn, W.parse_index_noun(index), reserved={"entity"}, min_classes=1)
    finally:
        W.CURATED.update(saved)
    by = {g["synset"]: g for g in groups}
    assert by["dog.n.01"]["classes"] == [0, 1, 2] and by["dog.n.01"]["name"] == "dog"
    assert by["animal.n.01"]["classes"] == [0, 1, 2, 3]
    assert by["entity.n.01"]["name"] == "entity.n.01"  # reserved (a class name) -> synset name
    assert "feline.n.00" not in by  # a hypernym of one class only: not a group
    assert [g["classes"] for g in one if g["synset"] == "feline.n.00"] == [[3]]  # kept when one class is enough


def test_wordnet_main_regenerates_shipped_table(tmp_path):
    """If Debian's WordNet 3.0 is present, the committed table is exactly what the script makes."""
    import pathlib
    wn = next((p for p in (pathlib.Path("/usr/share/wordnet"), pathlib.Path("/tmp/wn/usr/share/wordnet"))
               if (p / "data.noun").is_file()), None)
    if wn is None:
        pytest.skip("WordNet 3.0 (wordnet-base) not available")
    out = tmp_path / "g.json"
    assert class_groups_cli.main(["--wordnet", str(wn), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["groups"] == json.loads((C.DATA_DIR / "class_groups.json").read_text())["groups"]
