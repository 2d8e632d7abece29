"""The learned map (the default map of dog and cat) on the real weights and real photos, one per source kind."""
import pytest

from helpers import SHARED
from jaxstyle import images
from jaxstyle.errors import NotFoundError
from jaxstyle.evaluate import metrics
from jaxstyle.transfer import locate, objectmap

pytestmark = pytest.mark.slow


def _pair(folder, name):
    img = images.load_image(SHARED / folder / f"{name}.jpg", 512)
    return img, images.load_mask(SHARED / folder / f"{name}_mask.png", img.shape[:2])


def _iou(params, img, mask, cls, **opts):
    m = locate.auto_map(params, img, img.shape[:2], cls, map_options=opts or None)
    return metrics.map_iou(m, mask, radius=metrics.band_radius(mask.shape))


# (folder, photo, class, floor): a pet, a DAVIS frame and an MSRC photo per class the heads ship for; floors
# ~0.1 under the IoU measured with the shipped heads and probes (0.98, 0.87, 0.97, 0.89, 0.97)
PHOTOS = [("pets", "dog_american_bulldog_104", "dog", 0.85), ("masked", "davis_dog_00040", "dog", 0.75),
          ("more-masked", "dog_msrc_16_10", "dog", 0.85), ("pets", "cat_Abyssinian_101", "cat", 0.75),
          ("more-masked", "cat_msrc_15_10", "cat", 0.85)]


@pytest.mark.parametrize("folder,name,cls,floor", PHOTOS)
def test_learned_map_per_source(real_params, shared_data, folder, name, cls, floor):
    img, mask = _pair(folder, name)
    assert _iou(real_params, img, mask, cls) >= floor


def test_colour_spill_stays_off_a_floor_of_the_dogs_colour(real_params, shared_data):
    """A small shiba on a floor of its colour (0.85 measured): the head's sure background keeps GrabCut off the
    floor."""
    img, mask = _pair("pets", "dog_shiba_inu_61")
    assert _iou(real_params, img, mask, "dog") >= 0.75


def test_the_cat_map_leaves_only_sure_scene_and_other_animals_out(real_params, shared_data):
    """A Bengal cat whose flank the cat head finds only half animal-like: the cat's shipped map (``background``
    "animal") lets GrabCut's colour model take it and reaches 0.90; with the sure background of the class's
    extent (``background`` "extent", the dog's) the flank is left out, 0.51."""
    img, mask = _pair("pets", "cat_Bengal_53")
    assert _iou(real_params, img, mask, "cat") >= 0.85 > 0.7 > _iou(real_params, img, mask, "cat", background="extent")


def test_a_close_up_cat_is_also_read_smaller_and_a_small_one_is_not(real_params, shared_data):
    """The cat's map averages the head's cells with those of the photo at 0.75 x its size when its first map spans
    at least 0.4 of the long side (``scales_from``): a close-up Abyssinian goes 0.81 → 0.97 (measured); a small
    MSRC cat gets no such view, and its map is the one without it."""
    import numpy as np

    img, mask = _pair("pets", "cat_Abyssinian_156")
    assert _iou(real_params, img, mask, "cat") >= 0.9 > _iou(real_params, img, mask, "cat", scales=()) + 0.08
    img, _ = _pair("more-masked", "cat_msrc_15_12")
    maps = [locate.auto_map(real_params, img, img.shape[:2], "cat", map_options=o) for o in (None, {"scales": ()})]
    assert objectmap.span(maps[1]) < 0.4 and np.array_equal(maps[0], maps[1])


def test_a_small_dog_is_read_again_at_a_larger_size(real_params, shared_data):
    """A held-out MSRC dog small in the frame: with the views sent by size both ways (opt-in, ``--map-variant
    judged-j0.25+x0.75+x1.25if0.6``) its map spans less than 0.6 and takes the 1.25 x view (0.98 measured);
    with the 0.75 x view alone, as the default, it gets none (0.19)."""
    img, mask = _pair("more-masked", "dog_msrc_16_16")
    both = _iou(real_params, img, mask, "dog", scales=(0.75, 1.25), scales_from=0.6)
    assert both >= 0.9 > _iou(real_params, img, mask, "dog", scales=(0.75,), scales_from=0.6) + 0.3


def test_the_closer_look_maps_a_small_dog_again_on_a_crop(real_params, shared_data):
    """The same shiba, a quarter of the frame: its map fits a small square, which the closer look (opt-in,
    ``--map-variant judged-j0.25+closer``) maps again upsampled, and the outline follows the dog (0.98 measured,
    0.85 without)."""
    img, mask = _pair("pets", "dog_shiba_inu_61")
    assert _iou(real_params, img, mask, "dog", closer=True) >= 0.95 > _iou(real_params, img, mask, "dog") + 0.05


def test_a_small_dog_is_found_not_refused(real_params, shared_data):
    """A dog on 2 % of an MSRC frame: present, and mapped (0.90 measured; the probe map reaches 0.30)."""
    img, mask = _pair("more-masked", "dog_msrc_16_22")
    assert _iou(real_params, img, mask, "dog") >= 0.75


def test_the_body_joins_the_head_through_animal_cells(real_params, shared_data):
    """A white bulldog: the head calls its face the class and its body another animal; the animal patch joined
    to the face makes the map (0.98 measured); with the class cells alone (``extent`` "class") it is 0.82."""
    img, mask = _pair("pets", "dog_american_bulldog_104")
    assert _iou(real_params, img, mask, "dog") - _iou(real_params, img, mask, "dog", extent="class") >= 0.1


def test_the_probe_judges_a_cat_the_dog_head_half_believes(real_params, shared_data):
    """A Persian cat has dog cells under the dog head (presence 1.0, map covering 0.75 of it without the probe's
    judgement); the probe calls the patch not a dog, and the photo is refused."""
    img, mask = _pair("pets", "cat_Persian_111")
    m = locate.auto_map(real_params, img, img.shape[:2], "dog", map_options={"judge": ""})
    assert m[mask >= 0.5].mean() > 0.5
    with pytest.raises(NotFoundError):
        locate.auto_map(real_params, img, img.shape[:2], "dog", map_options=None)


def test_a_cow_is_not_a_dog_for_the_learned_map(real_params, shared_data):
    """The DAVIS cow the probe map covers as "dog" (0.99): the dog head's presence is 0.54 < 0.7, refused."""
    img, _ = _pair("masked", "davis_cows_00000")
    with pytest.raises(NotFoundError):
        locate.auto_map(real_params, img, img.shape[:2], "dog", map_options=None)


def test_a_cat_is_refused_by_the_dog_map(real_params, shared_data):
    img, _ = _pair("pets", "cat_Abyssinian_101")
    with pytest.raises(NotFoundError):
        locate.auto_map(real_params, img, img.shape[:2], "dog", map_options=None)


def test_the_head_gate_refuses_a_cow_the_probe_map_calls_dog(real_params, shared_data):
    """A DAVIS cow: the probe map covers 0.99 of it as "dog"; with --head-gate the dog head's presence
    (0.53 < 0.9) refuses the photo."""
    img, mask = _pair("masked", "davis_cows_00000")
    m = locate.auto_map(real_params, img, img.shape[:2], "dog", map_options={"learned": False})
    assert m[mask >= 0.5].mean() > 0.5
    with pytest.raises(NotFoundError):
        locate.auto_map(real_params, img, img.shape[:2], "dog", map_options=objectmap.GATE)


def test_the_cat_map_takes_a_short_coated_body_by_its_own_choice(real_params, shared_data):
    """An MSRC cat whose body the cat head calls just "animal": the cat map's own choice (``joined`` 0, the cat
    head calling no other animal a cat) takes the body (0.996 measured); the dog map's ``joined`` 0.25 leaves
    the face (0.14)."""
    img, mask = _pair("more-masked", "cat_msrc_15_6")
    assert _iou(real_params, img, mask, "cat") >= 0.85
    assert _iou(real_params, img, mask, "cat", joined=0.25) < 0.5


def test_the_patch_judge_takes_a_dogs_body_the_head_calls_another_animal(real_params, shared_data):
    """An MSRC dog whose body the dog head calls "animal" (the dog holds < 0.25 of the patch): the shipped choice
    (``joined`` 0.25) keeps the face only (0.17 measured); the patch judge (``--map-variant patch-j0``) reads
    the patch whole and takes it (0.96; the same under the judge trained without the MSRC photos' labels,
    docs/RESULTS.md "Patch judge"; the shipped one learned from them)."""
    from jaxstyle.evaluate import loso

    img, mask = _pair("more-masked", "dog_msrc_16_17")
    patch = {k: v for k, v in loso.variants()["patch-j0"].items() if k != "learned"}
    assert _iou(real_params, img, mask, "dog", **patch) >= 0.85
    assert _iou(real_params, img, mask, "dog") < 0.5


def test_the_patch_judge_refuses_a_horse_the_probe_calls_dog(real_params, shared_data):
    """A Weizmann horse (scored, so no cell head saw it; the shipped judge learned from its label "horse", and the
    judge trained without the Weizmann photos refuses it too, docs/RESULTS.md "Patch judge"): the shipped map
    covers 0.84 of it as "dog" (the probe calls the patch dog); the patch judge calls it another animal, and the
    photo is refused."""
    img, mask = _pair("more-masked", "horse_weizmann_020")
    m = locate.auto_map(real_params, img, img.shape[:2], "dog", map_options=None)
    assert m[mask >= 0.5].mean() > 0.5
    with pytest.raises(NotFoundError):
        locate.auto_map(real_params, img, img.shape[:2], "dog", map_options={"judge": "patches", "joined": 0.0})


def test_a_sheep_the_probe_map_refuses_is_found_by_the_sheep_head(real_params, shared_data):
    """A held-out MSRC sheep (its group trained no head or probe): the probe map refuses it (presence 0.00); the
    sheep's learned map, its default, finds it (0.98 measured)."""
    img, mask = _pair("more-masked", "sheep_msrc_9_23")
    assert _iou(real_params, img, mask, "sheep") >= 0.85
    with pytest.raises(NotFoundError):
        locate.auto_map(real_params, img, img.shape[:2], "sheep", map_options={"learned": False})
