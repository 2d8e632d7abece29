"""The object map's stages on synthetic inputs (objectness, regions, seeds, GrabCut) and the tiny VGG."""
from dataclasses import replace

import cv2
import numpy as np
import pytest

from jaxstyle.transfer import edges, grabcut as gc, learnedmap as lm, mapfeatures, objectmap as om
from jaxstyle.select.heads.patches import animal_patches
from jaxstyle.select.probes import probe as pb
from jaxstyle.errors import UsageError


def _blobs(hw=(24, 32), c=8):
    """Features with two object blobs: one along channel 0 (the class), one along channel 1 (a look-alike)."""
    f = np.full(hw + (c,), 0.01, np.float32)
    f[4:12, 3:11, 0] = 3.0   # the class
    f[12:20, 20:29, 1] = 3.0  # the look-alike
    return f


def _probe(c=8):
    """Group 0 fires on channel 0, group 1 (cat) on channel 1, 'other' on the background."""
    W = np.zeros((c, 3), np.float32)
    W[0, 0] = W[1, 1] = 4.0
    b = np.array([-1.0, -1.0, 0.0], np.float32)
    return pb.Probe(W, b, ("dog", "cat", "other"), {})


def test_objectness_and_otsu():
    rng = np.random.default_rng(0)
    f = rng.uniform(0, 2, (24, 32, 1)).astype(np.float32)  # textured background around the mean
    f[4:12, 3:11] = 6.0                                     # one strong object
    obj = om.objectness(f)
    assert obj.mean() == pytest.approx(1.0, rel=1e-5)
    assert (obj > 1).mean() > 0.3  # the mean lets much of the background in
    t = om.otsu(obj)
    assert (obj[4:12, 3:11] > t).all() and (obj > t).sum() == 64  # Otsu's threshold keeps the object only
    assert om.otsu(np.full((4, 4), 0.5, np.float32)) == 1.0     # never below the mean


def test_cell_probs_scene_is_the_last_group_and_own_the_class_beating_the_animals():
    f = _blobs()
    p, own = om.cell_probs(f, _probe())
    assert p[0, 16] > 0.5 and p[8, 6] < 0.1  # background is "other", the class blob is not
    assert own[8, 6] and not own[16, 24]     # the dog blob is the class's, the cat blob is not
    p, own = om.cell_probs(f, None)
    assert not p.any() and own.all()


def test_regions_keep_the_class_and_reject_the_lookalike():
    f = _blobs()
    obj = om.objectness(f)
    lab, keep, presence = om.regions(f, obj, _probe())
    dog, cat = lab[8, 6], lab[16, 24]
    assert dog > 0 and cat > 0 and dog != cat
    assert keep[dog] and not keep[cat]
    assert presence > 0.9


def test_regions_without_a_class_region_have_no_presence():
    f = _blobs()
    f[..., 0] = 0.05  # no class blob left: only the look-alike
    obj = om.objectness(f)
    lab, keep, presence = om.regions(f, obj, _probe())
    assert not keep.any() and presence == 0.0


def test_regions_from_filter_evidence_keep_the_strongest():
    f = _blobs()
    obj = om.objectness(f)
    ev = f[..., 1] / f[..., 1].max()  # evidence on the second blob
    lab, keep, presence = om.regions(f, obj, None, ev)
    assert keep[lab[16, 24]] and not keep[lab[8, 6]] and presence == 1.0


def test_seeds_label_kept_rejected_and_low_objectness():
    f = _blobs()
    obj = om.objectness(f)
    lab, keep, _ = om.regions(f, obj, _probe())
    scene = np.zeros(obj.shape, np.float32)
    scene[4:6, 3:11] = 0.9                   # the probe calls the blob's top rows scene
    gm = om.seeds(lab, keep, obj, scene, 2.0, om.MapConfig())
    assert gm[8, 6] == cv2.GC_FGD            # a strong cell of the kept region
    assert gm[4, 6] == cv2.GC_PR_BGD         # kept region, but scene
    assert gm[16, 24] == cv2.GC_BGD          # the look-alike is sure background
    assert gm[1, 16] == cv2.GC_BGD           # low objectness
    gm = om.seeds(lab, keep, obj, scene * 0, 1e9, om.MapConfig())
    assert gm[8, 6] == cv2.GC_PR_FGD and not (gm == cv2.GC_FGD).any()
    own = np.ones(obj.shape, bool)
    own[8, 6] = False                        # a strong cell that is not the class's own stays probable
    gm = om.seeds(lab, keep, obj, scene, 2.0, om.MapConfig(), own=own)
    assert gm[8, 6] == cv2.GC_PR_FGD and gm[8, 7] == cv2.GC_FGD


def test_grabcut_finish_grows_a_core_to_the_object():
    rng = np.random.default_rng(0)
    img = (rng.normal(0, 10, (64, 80, 3)) + [60, 160, 60]).clip(0, 255).astype(np.uint8)
    img[16:48, 20:60] = (rng.normal(0, 10, (32, 40, 3)) + [200, 40, 40]).clip(0, 255).astype(np.uint8)
    gm = np.full((64, 80), cv2.GC_PR_BGD, np.uint8)
    gm[28:36, 36:44] = cv2.GC_FGD  # a small core only
    gm[:4] = cv2.GC_BGD
    gm[20:44, 24:56] = np.where(gm[20:44, 24:56] == cv2.GC_FGD, cv2.GC_FGD, cv2.GC_PR_FGD)
    m = gc.finish(img, gm, 3)
    truth = np.zeros((64, 80), bool)
    truth[16:48, 20:60] = True
    iou = (m.astype(bool) & truth).sum() / (m.astype(bool) | truth).sum()
    assert iou > 0.9  # the seeds alone cover 0.6 of the square


def test_grabcut_finish_is_the_same_whatever_ran_before():
    rng = np.random.default_rng(0)  # noisy colours: where k-means starts decides the result
    img = (rng.normal(0, 50, (64, 80, 3)) + [60, 160, 60]).clip(0, 255)
    img[16:48, 20:60] = (rng.normal(0, 50, (32, 40, 3)) + [200, 40, 40]).clip(0, 255)
    img[40:64, 0:30] = (rng.normal(0, 50, (24, 30, 3)) + [180, 60, 50]).clip(0, 255)
    img = img.astype(np.uint8)
    gm = np.full((64, 80), cv2.GC_PR_BGD, np.uint8)
    gm[20:44, 24:56] = cv2.GC_PR_FGD
    gm[28:36, 36:44] = cv2.GC_FGD
    gm[:4] = cv2.GC_BGD
    assert len({gc.finish(img, gm, 3, seed=s).sum() for s in range(6)}) > 1  # the start matters here
    first = gc.finish(img, gm, 3, seed=0)
    for _ in range(8):
        cv2.randu(np.zeros((8, 8), np.float32), 0, 1)  # other work moves OpenCV's generator
        assert np.array_equal(gc.finish(img, gm, 3, seed=0), first)


def test_object_map_on_the_tiny_vgg(tiny_params):
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (48, 64, 3)).astype(np.float32)
    img[10:38, 16:48] = [230, 30, 30]
    r = om.object_map(tiny_params, img, {"conv5_1": [1, 2], "conv4_1": [3]}, None, om.MapConfig(size=64))
    assert r["map"].shape == (48, 64) and 0 <= r["map"].min() and r["map"].max() <= 1
    assert r["map"].max() > 0.5 and r["presence"] == 1.0
    with pytest.raises(UsageError):
        om.object_map(tiny_params, img, {"conv5_1": []}, None, om.MapConfig(size=64))


def test_map_config_validates():
    with pytest.raises(UsageError):
        om.MapConfig(size=8)
    with pytest.raises(UsageError):
        om.MapConfig(min_evidence=1.5)
    with pytest.raises(UsageError):
        om.MapConfig(zoom_below=1.5)


def test_bucketed_features_equal_the_unpadded_pass_and_share_a_program(tiny_params):
    rng = np.random.default_rng(1)
    imgs = [rng.uniform(0, 255, (h, 64, 3)).astype(np.float32) for h in (40, 44, 48)]
    flt = {"conv5_1": [1, 2]}
    mapfeatures.compiled.clear_cache()
    own = [mapfeatures.features(tiny_params, x, flt) for x in imgs]
    assert mapfeatures.compiled._cache_size() == 3
    mapfeatures.compiled.clear_cache()
    padded = [mapfeatures.features(tiny_params, x, flt, buckets=4) for x in imgs]
    assert mapfeatures.compiled._cache_size() == 1  # 40, 44 and 48 rows all pad to 48
    for a, b in zip(own, padded):
        assert a["f"].shape == b["f"].shape
        np.testing.assert_allclose(b["f"], a["f"], rtol=1e-4, atol=1e-4 * float(np.abs(a["f"]).max()))


def test_features_of_a_batch_equal_one_photo_at_a_time(tiny_params):
    rng = np.random.default_rng(3)
    imgs = [rng.uniform(0, 255, hw + (3,)).astype(np.float32) for hw in ((40, 64), (48, 64), (64, 40), (44, 64))]
    flt = {"conv5_1": [1, 2]}
    for buckets in (0, 4):
        one = [mapfeatures.features(tiny_params, x, flt, buckets) for x in imgs]
        many = mapfeatures.features_many(tiny_params, imgs, flt, buckets, batch=2)
        for a, b in zip(one, many):
            assert a.keys() == b.keys() and a["f"].shape == b["f"].shape
            for k in a:
                np.testing.assert_allclose(b[k], a[k], rtol=1e-4, atol=1e-4 * float(np.abs(a[k]).max()))


def test_object_map_with_buckets_matches_its_own_size(tiny_params):
    rng = np.random.default_rng(2)
    img = rng.uniform(0, 255, (44, 64, 3)).astype(np.float32)
    img[10:34, 16:48] = [230, 30, 30]
    flt = {"conv5_1": [1, 2], "conv4_1": [3]}
    a = om.object_map(tiny_params, img, flt, None, om.MapConfig(size=64))["map"]
    b = om.object_map(tiny_params, img, flt, None, om.MapConfig(size=64, buckets=4))["map"]
    assert ((a > 0.5) == (b > 0.5)).mean() > 0.98


def test_grown_reaches_the_animal_through_animal_cells_only():
    lab = np.zeros((10, 12), np.int64)
    lab[2:4, 2:4] = 1                        # a kept region (the head)
    keep = np.array([False, True])
    obj = np.full((10, 12), 0.6, np.float32)  # a weak body, above the floor
    obj[:, 8:] = 0.1                         # low objectness: not grown even where "animal"
    scene = np.ones((10, 12), np.float32)
    scene[2:9, 2:6] = 0.1                    # the probe calls the body animal
    scene[0:2, 9:12] = 0.1                   # animal-like, but not joined to the head
    g = om.grown(lab, keep, obj, scene, om.MapConfig())
    assert g[8, 4] and g[2, 2]               # the body joined to the head
    assert not g[1, 10] and not g[8, 7] and not g[5, 9]
    gm = om.seeds(lab, keep, obj, scene, 2.0, om.MapConfig(), g)
    assert gm[8, 4] == cv2.GC_PR_FGD and gm[8, 7] == cv2.GC_PR_BGD
    assert om.seeds(lab, keep, obj, scene, 2.0, om.MapConfig())[8, 4] == cv2.GC_PR_BGD


def test_crop_box_is_a_clipped_square_around_the_sure_object():
    labels = np.full((96, 128), cv2.GC_PR_BGD, np.uint8)
    labels[40:50, 60:70] = cv2.GC_FGD
    cfg = om.MapConfig(zoom_margin=0.5, zoom_min_side=0.0)
    y0, y1, x0, x1 = om.crop_box(labels, (192, 256), cfg)  # photo at twice the labels' size
    assert (y1 - y0, x1 - x0) == (40, 40) and (y0, x0) == (70, 110)  # 20 px box grown by 10 px each way
    y0, y1, x0, x1 = om.crop_box(labels, (192, 256), om.MapConfig(zoom_margin=0.5, zoom_min_side=0.5))
    assert (y1 - y0, x1 - x0) == (128, 128)  # at least half the long side
    labels[:, :] = cv2.GC_PR_FGD
    assert om.crop_box(labels, (192, 256), cfg) is None  # no sure object: no closer look


def test_edge_share_counts_only_the_cut_edges():
    m = np.zeros((10, 20), bool)
    m[0, :] = True                                      # the map runs along the top edge
    assert om.edge_share(m, (True, False, False, False)) == 1.0
    assert om.edge_share(m, (False, True, True, True)) == 2 / 40  # the corners of the side edges
    assert om.edge_share(m, (False, False, False, False)) == 0.0  # the crop is the whole photo


def _all_dog(c):
    return pb.Probe(np.zeros((c, 3), np.float32), np.array([5.0, 0.0, 0.0], np.float32), ("dog", "cat", "other"), {})


def test_closer_look_maps_the_crop_and_keeps_the_first_look_when_the_animal_runs_past_it(tiny_params):
    rng = np.random.default_rng(0)
    rgb = rng.uniform(0, 255, (96, 128, 3)).astype(np.float32)
    rgb[40:60, 50:80] = [230, 30, 30]
    cfg = om.MapConfig(size=128, grabcut_side=128, zoom_min_side=0.0)
    c = mapfeatures.features(tiny_params, rgb)
    s = om.seeded(rgb, c, _all_dog(c["f"].shape[-1]), cfg)
    labels = np.full(s.labels.shape, cv2.GC_PR_BGD, np.uint8)
    labels[40:60, 50:80] = cv2.GC_FGD                   # a small sure object in the middle
    s = om.Seeded(s.small, labels, s.presence, s.objectness, s.regions, s.keep, s.scene)
    probe = _all_dog(c["f"].shape[-1])
    y0, y1, x0, x1 = om.crop_box(labels, rgb.shape[:2], cfg)
    outside = np.ones(rgb.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    first = np.ones(rgb.shape[:2], np.float32)          # the first look took the whole frame
    scene = replace(s, scene=np.ones_like(s.scene))     # ... and the probe calls everything outside scene
    m = om.closer_look(tiny_params, rgb, scene, first, probe, replace(cfg, zoom_inside=1.0))
    assert m is not None and m.shape == (96, 128)
    assert not m[outside].any()                         # nothing outside the crop

    def look(s_, **kw):
        return om.closer_look(tiny_params, rgb, s_, first, probe, replace(cfg, **{"zoom_inside": 1.0, **kw}))
    assert look(scene, zoom_inside=-1.0) is None        # the map runs past the cut edges
    assert look(replace(s, scene=np.zeros_like(s.scene))) is None  # the first map runs on into animal: a body
    assert look(scene, zoom_below=0.1) is None          # not small enough
    assert look(scene, zoom_below=0.0) is None          # switched off


def test_closer_look_runs_grabcut_at_the_first_looks_pixel_density(tiny_params, monkeypatch):
    rgb = np.random.default_rng(1).uniform(0, 255, (96, 128, 3)).astype(np.float32)
    cfg = om.MapConfig(size=128, grabcut_side=96, zoom_min_side=0.0, zoom_inside=1.0)
    c = mapfeatures.features(tiny_params, rgb)
    probe = _all_dog(c["f"].shape[-1])
    s = om.seeded(rgb, c, probe, cfg)
    labels = np.full(s.labels.shape, cv2.GC_PR_BGD, np.uint8)
    labels[30:42, 40:60] = cv2.GC_FGD
    s = replace(s, labels=labels, scene=np.ones_like(s.scene))
    sides = []
    real = gc.finish
    monkeypatch.setattr(om, "finish", lambda small, *a: sides.append(max(small.shape[:2])) or real(small, *a))
    assert om.closer_look(tiny_params, rgb, s, np.ones(rgb.shape[:2], np.float32), probe, cfg) is not None
    y0, y1, x0, x1 = om.crop_box(labels, rgb.shape[:2], cfg)  # labels at 96 px, the photo at 128: pixels
    assert sides == [round(96 * max(y1 - y0, x1 - x0) / 128)]  # not the full grabcut_side: no finer colour


def _flags(cli, *argv):
    """The map options of ``jaxstyle stylize`` or ``jaxstyle evaluate --maps-only`` with these flags."""
    from jaxstyle.cli import stylize_cli

    if cli is not stylize_cli:
        argv = ("--maps-only", "--pairs", "p", "--out", "o") + argv
    return stylize_cli.map_options(cli.build_parser().parse_args(list(argv)))


def test_second_look_is_opt_in_and_set_by_its_flags():
    from jaxstyle.cli import evaluate_cli, stylize_cli

    assert om.MapConfig().second_look == 0.0
    with pytest.raises(UsageError, match="second look"):
        om.MapConfig(second_look=1.5)
    assert (_flags(stylize_cli, "--second-look") == {"second_look": om.SECOND_LOOK}
            == _flags(evaluate_cli, "--second-look"))
    assert _flags(stylize_cli, "--min-evidence", "0.3") == {"min_evidence": 0.3}
    assert _flags(evaluate_cli) is None


def test_the_probe_map_is_chosen_by_its_flags():
    from jaxstyle.cli import evaluate_cli, stylize_cli

    assert _flags(stylize_cli, "--probe-map") == {"learned": False} == _flags(evaluate_cli, "--probe-map")
    assert _flags(stylize_cli, "--head-gate") == om.GATE == _flags(evaluate_cli, "--head-gate")
    with pytest.raises(UsageError, match="sure"):
        om.MapConfig(sure=0.4)
    with pytest.raises(UsageError, match="cell head"):
        om.object_maps({}, [np.zeros((32, 32, 3))], cfg=om.MapConfig(learned=True))


def test_regions_kept_by_either_head_and_present_only_where_both_agree():
    f = np.full((16, 24, 2), 0.05, np.float32)
    f[2:8, 2:8, 0] = 1.0
    f[4, 4, 0] = 9.0     # region A: one strong cell; its max passes the first head, its mean not
    f[10:15, 14:22, 0] = 6.0  # region B: strong throughout, the class for both heads
    W = np.array([[1.0, 0.0], [0.0, 0.0]], np.float32)
    b = np.array([-4.0, 0.0], np.float32)  # the class only when channel 0 passes 4
    obj = om.objectness(f)
    probe = pb.Probe(W, b, ("dog", "other"), {"pooling": "max"}, means=(W, b))
    lab, keep, presence = om.regions(f, obj, probe)
    assert keep[lab[4, 4]] and keep[lab[12, 18]] and presence > 0.8
    only_a = f.copy()
    only_a[10:15, 14:22, 0] = 0.05
    lab, keep, presence = om.regions(only_a, om.objectness(only_a), probe)
    assert keep[lab[4, 4]] and presence == 0.0   # kept as extent, but no evidence the class is there
    mean_probe = pb.Probe(W, b, ("dog", "other"), {})  # pooled by mean: region A is not the class
    lab, keep, presence = om.regions(only_a, om.objectness(only_a), mean_probe)
    assert not keep[lab[4, 4]]


def test_inner_edge_softens_a_hard_mask_inside_it():
    m = np.zeros((200, 300), np.float32)
    m[50:150, 60:240] = 1.0
    soft = edges.inner_edge(m, 0.01)  # 3 px at a 300 px long side
    assert (soft[m == 0] == 0).all()  # nothing outside moves
    assert soft[100, 150] == pytest.approx(1.0)  # the interior is kept whole
    ring = soft[50, 70:230]  # the mask's top row: faded, not cut
    assert ring.max() < 0.2
    inside = soft[50:58, 150]  # rises to 1 within a few pixels of the outline
    assert (np.diff(inside) >= 0).all() and inside[0] < 0.2 and inside[-1] > 0.95

def _red_square(hw=(64, 96)):
    """A noisy green field with a red square (rows 16-48, cols 10-40): the photo and the square."""
    rng = np.random.default_rng(0)
    rgb = np.zeros(hw + (3,), np.float32)
    rgb[..., 1] = 150 + rng.normal(0, 10, hw)
    obj = np.zeros(hw, bool)
    obj[16:48, 10:40] = True
    rgb[obj] = (200, 30, 30)
    return np.clip(rgb, 0, 255), obj


def test_refine_remove_stroke_takes_a_spill_off_and_keeps_the_object():
    rgb, obj = _red_square()
    spill = np.zeros(obj.shape, bool)
    spill[20:44, 40:48] = True               # the map ran onto the green field beside the square
    cfg = om.MapConfig(size=96, feather=0.0)
    stroke = np.zeros(obj.shape, bool)
    stroke[24:40, 43:45] = True
    m = gc.refine(rgb, (obj | spill).astype(np.float32), remove=stroke, cfg=cfg)
    assert m.shape == obj.shape and (m[stroke] == 0).all()
    assert m[spill].mean() < 0.1             # the whole spill, not only the stroke's pixels
    assert m[obj].mean() > 0.95
    assert np.array_equal(m, gc.refine(rgb, (obj | spill).astype(np.float32), remove=stroke, cfg=cfg))


def test_refine_add_stroke_brings_a_missed_part_back():
    rgb, obj = _red_square()
    missed = obj.copy()
    missed[:, :32] = False                   # the map lost the square's right end
    cfg = om.MapConfig(size=96, feather=0.0)
    stroke = np.zeros(obj.shape, bool)
    stroke[20:44, 35:37] = True
    m = gc.refine(rgb, (obj & ~missed).astype(np.float32), add=stroke, cfg=cfg)
    assert (m[stroke] == 1).all()
    assert m[missed].mean() > 0.9            # the whole missed part, not only the stroke's pixels
    assert m[obj].mean() > 0.95 and m[~obj].mean() < 0.02


def test_learned_extent_takes_animal_cells_joined_to_the_class_only():
    """A dog's head (class), its body (another animal to the head, joined to the head) and a separate animal:
    ``animal`` extent takes the body, not the separate animal; ``class`` extent takes neither."""
    probs = np.zeros((8, 12, 4), np.float32)
    probs[..., 3] = 1.0
    probs[2:4, 1:3] = [0.9, 0.1, 0.0, 0.0]   # the head: class
    probs[2:6, 3:6] = [0.2, 0.7, 0.0, 0.1]   # the body: animal, joined to the head
    probs[2:6, 9:11] = [0.1, 0.8, 0.0, 0.1]  # a separate animal
    cls = lm.learned_extent(probs[..., 0], None)
    ani = lm.learned_extent(probs[..., 0], animal_patches(probs))
    np.testing.assert_allclose(cls, probs[..., 0])
    assert (ani[2:6, 3:6] >= 0.5).all() and (cls[2:6, 3:6] < 0.5).all()
    assert (ani[2:6, 9:11] < 0.5).all()
    assert (ani[2:4, 1:3] >= 0.9).all() and (ani[probs[..., 3] == 1.0] == 0).all()
    # a cat whose face the dog head half believes: one class cell in a large animal patch, taken whole
    # only when the class's share of the patch may be small
    probs[2:6, 9:11] = [0.0, 0.9, 0.0, 0.1]
    probs[3, 9] = [0.6, 0.4, 0.0, 0.0]
    patches = animal_patches(probs)
    assert (lm.learned_extent(probs[..., 0], patches)[2:6, 9:11] >= 0.5).all()
    share = lm.learned_extent(probs[..., 0], patches, joined=0.3)
    assert (share[2:6, 9:11][probs[2:6, 9:11, 0] < 0.5] < 0.5).all() and (share[2:6, 3:6] >= 0.5).all()
    with pytest.raises(UsageError, match="extent"):
        om.MapConfig(extent="body")
    with pytest.raises(UsageError, match="joined"):
        om.MapConfig(joined=1.5)


def test_a_patch_the_probe_rejects_is_not_the_class():
    """Two patches the head calls the class; the probe calls only the first one the class (channel 0 of its
    cells): the second gets neither extent nor class probability, and a map of only it is refused."""

    class Judge:
        pooling = "max"

        def judge(self, pooled, mean):
            return pooled[:, 0] > 1.0, pooled[:, 0]

    probs = np.zeros((8, 14, 4), np.float32)
    probs[..., 3] = 1.0
    probs[2:6, 1:5] = [0.9, 0.1, 0.0, 0.0]
    probs[2:6, 9:13] = [0.9, 0.1, 0.0, 0.0]
    f = np.zeros((8, 14, 2), np.float32)
    f[2:6, 1:5, 0] = 3.0
    f[2:6, 9:13, 1] = 3.0
    patches = animal_patches(probs)
    judged = lm.judged_patches(f, None, patches, None, Judge(), om.MapConfig(judge="probe"))
    lab = patches.labels
    assert judged[lab[3, 2]] and not judged[lab[3, 10]] and not judged[0]
    p = lm.judged_class(probs[..., 0], patches, judged)
    e = lm.learned_extent(p, patches, 0.25, judged)
    assert (e[2:6, 1:5] >= 0.9).all() and (e[2:6, 9:13] == 0).all() and (p[2:6, 9:13] == 0).all()
    assert (lm.learned_extent(probs[..., 0], patches, 0.25)[2:6, 9:13] >= 0.9).all()



class _ChannelHead:
    """A cell head stub: a cell is the dog where its first channel beats its second, else scene."""

    dims, groups, target, judge = (2,), ("dog", "animal", "person", "scene"), "dog", None

    def probs(self, x):
        dog = x[..., 0] > x[..., 1]
        return np.stack([dog, 0 * dog, 0 * dog, ~dog], -1).astype(np.float32)


def _dog_on_the_left(hw=(6, 10)):
    """Hypercolumns (h, w, 2) of a photo whose left 4/10 is a dog for :class:`_ChannelHead`, and a view of no dog."""
    h = np.zeros((*hw, 2), np.float32)
    h[:, : hw[1] * 2 // 5, 0] = 1.0
    h[:, hw[1] * 2 // 5:, 1] = 1.0
    return h, np.stack([np.zeros(hw), np.ones(hw)], -1).astype(np.float32)


def test_the_mirror_image_averages_the_heads_cells_flipped_back():
    """``MapConfig.mirror``: the head's cell probabilities are the mean of the photo's and its mirror image's,
    the latter flipped back. A mirror pass that agrees (the photo's features flipped) changes nothing; one
    that sees no dog halves the class probability."""
    h, blind = _dog_on_the_left()
    rgb = np.zeros((96, 160, 3), np.float32)
    cfg = om.MapConfig(learned=True, grabcut=False, mirror=True)
    alone = lm.learned_map(rgb, {"h": h}, _ChannelHead(), replace(cfg, mirror=False))
    agree = lm.learned_map(rgb, {"h": h, "h_mirror": h[:, ::-1]}, _ChannelHead(), cfg)
    np.testing.assert_array_equal(agree[1], alone[1])
    assert agree[2] == alone[2] == 1.0
    half = lm.learned_map(rgb, {"h": h, "h_mirror": blind}, _ChannelHead(), cfg)
    assert half[2] == 0.5 and (half[1][:, :4] == 0.5).all() and (half[1][:, 4:] == 0).all()


def test_a_scaled_view_is_resized_to_the_photos_grid_and_averaged():
    """``MapConfig.scales``: the head's cells of the photo at another size, resized onto its grid and averaged
    with its own; a view that sees no dog halves the class probability."""
    h, _ = _dog_on_the_left()
    big, blind = _dog_on_the_left((12, 20))  # the same photo at twice the size
    rgb = np.zeros((96, 160, 3), np.float32)
    cfg = om.MapConfig(learned=True, grabcut=False, scales=(2.0,))
    key = lm.view_key(2.0)
    same = lm.learned_map(rgb, {"h": h, key: big}, _ChannelHead(), cfg)[1]
    assert (same[:, :3] == 1).all() and (same[:, 5:] == 0).all()
    half = lm.learned_map(rgb, {"h": h, key: blind}, _ChannelHead(), cfg)
    assert half[2] == 0.5 and (half[1][:, :3] == 0.5).all()
    with pytest.raises(UsageError, match="scales"):
        om.MapConfig(scales=(8.0,))


def test_a_size_gated_view_reads_a_map_by_how_much_of_the_photo_it_spans():
    """``MapConfig.scales_from``: a smaller view is averaged in only when the map without it spans at least that
    share of the photo's long side, a larger one only when it spans less (:func:`objectmap.learned_pass`); the dog
    on the left 4/10, full height, spans 0.6."""
    h, _ = _dog_on_the_left()
    _, blind = _dog_on_the_left((12, 20))
    rgb = np.zeros((96, 160, 3), np.float32)
    c = {"h": h, lm.view_key(0.5): blind, lm.view_key(2.0): blind}
    small = om.MapConfig(learned=True, grabcut=False, scales=(0.5,))
    assert om.learned_pass(None, rgb, c, _ChannelHead(), None, small)[2] == 0.5  # always: the blind view halves it
    assert om.learned_pass(None, rgb, c, _ChannelHead(), None, replace(small, scales_from=0.7))[2] == 1.0
    assert om.learned_pass(None, rgb, c, _ChannelHead(), None, replace(small, scales_from=0.5))[2] == 0.5
    large = replace(small, scales=(2.0,))
    assert om.learned_pass(None, rgb, c, _ChannelHead(), None, replace(large, scales_from=0.7))[2] == 0.5
    assert om.learned_pass(None, rgb, c, _ChannelHead(), None, replace(large, scales_from=0.5))[2] == 1.0
    assert om.sized_views((0.75, 1.25), 0.6, 0.4) == (0.75,) and om.sized_views((0.75, 1.25), 0.3, 0.4) == (1.25,)
    assert om.span(np.zeros((4, 4))) == 0.0 and om.span(np.pad(np.ones((2, 3)), 1)) == 0.6
    with pytest.raises(UsageError, match="span"):
        om.MapConfig(scales_from=1.5)
