"""The class matrix's views (jaxstyle.evaluate.classmatrix) on synthetic rows."""
from jaxstyle.evaluate import classmatrix as cm


def _row(photo, species, cls, variant, iou=0.0, cover=0.0, presence=1.0):
    return {"photo": photo, "source": "s", "species": species, "cls": cls, "variant": variant, "iou": iou,
            "cover": cover, "presence": presence, "seconds": 0.1}


def test_a_view_scores_each_class_by_its_own_map_and_refusal():
    """The dog's probe map covers a horse and maps the dog at 0.5; its learned map refuses the horse (presence
    0.6 < its 0.7) and maps the dog at 0.9. The probe view and the default view read different rows."""
    rs = [_row("d", "dog", "dog", "probe", iou=0.5), _row("d", "dog", "dog", "learned", iou=0.9),
          _row("h", "horse", "dog", "probe", cover=0.9), _row("h", "horse", "dog", "learned", cover=0.4, presence=0.6),
          _row("h", "horse", "horse", "probe", iou=0.8)]
    view = cm.View({"dog": "learned"}, {"dog": 0.7})
    probe, default = cm.cells(rs, ["dog", "horse"]), cm.cells(rs, ["dog", "horse"], view)
    assert probe[("dog", "dog")][0] == 0.5 and probe[("horse", "dog")][0] == 0.9
    assert default[("dog", "dog")][0] == 0.9 and default[("horse", "dog")][0] == 0.0  # refused: covers nothing
    assert default[("horse", "horse")][0] == probe[("horse", "horse")][0] == 0.8      # the horse keeps its probe map
    assert cm.default_view(["dog", "cat", "horse"]).variants == {"dog": "learned", "cat": "learned"}


def test_each_class_gets_the_variant_the_other_classes_choose():
    """Variant "a" wins on horse and sheep, so they choose it for cattle, though cattle's five photos would tip a
    choice made on every class to "b"; cattle is scored with "a" beside its probe map, and a class without
    learned rows gets no row."""
    rs = []
    for cls, n, ious in (("horse", 1, {"a": 0.9, "b": 0.3}), ("sheep", 1, {"a": 0.8, "b": 0.2}),
                         ("cattle", 5, {"a": 0.4, "b": 1.0})):
        for k in range(n):
            for v, iou in ious.items():
                rs.append(_row(f"{cls}{k}", cls, cls, v, iou=iou))
            rs.append(_row(f"{cls}{k}", cls, cls, "probe", iou=0.5))
        for v in ("a", "b"):
            rs.append(_row("dog1", "dog", cls, v, cover=0.1))
    md = cm.choose_across(rs, ["horse", "sheep", "cattle", "car"])
    row = next(line for line in md if line.startswith("| cattle |"))
    assert "`a`" in row and "0.400 / 0.400" in row and "0.500 / 0.500" in row
    assert next(line for line in md if line.startswith("| horse |")).count("`b`") == 1  # cattle and sheep choose b
    assert not any(line.startswith("| car |") for line in md)
    assert md[-1].startswith("Chosen on every class: `b`")


def test_the_shipped_choice_is_written_for_the_shipped_classes_only(tmp_path):
    """``ship_choice`` sets the shipped classes' fields, variant and provenance, and keeps every other entry."""
    import json

    path = tmp_path / "map.json"
    path.write_text(json.dumps({"classes": {"dog": {"learned": True, "min_evidence": 0.7}},
                                "variants": {"dog": "judged-j0.25"}, "command": "map_loso"}))
    cm.ship_choice(path, ["sheep"], ("judged-j0+mirror", 0.2), "class_matrix --choose")
    doc = json.loads(path.read_text())
    assert doc["classes"]["dog"] == {"learned": True, "min_evidence": 0.7} and doc["command"] == "map_loso"
    assert doc["classes"]["sheep"]["mirror"] and doc["classes"]["sheep"]["min_evidence"] == 0.2
    assert doc["classes"]["sheep"]["judge"] == "probe" and doc["variants"]["sheep"] == "judged-j0+mirror"
    assert doc["others"]["sheep"]["command"] == "class_matrix --choose" and "horse" not in doc["classes"]
