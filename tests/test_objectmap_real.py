"""The object maps on the real weights and real photos: whole animal, right species, clean refusal.

What both maps must do runs under each (``MAPS``: the probe map, ``--probe-map``, and the learned map, the
default of dog and cat); the probe map's own stages (growth, closer and second look) under the probe map."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import SHARED
from jaxstyle import images
from jaxstyle.evaluate import composites, metrics
from jaxstyle.transfer import locate
from jaxstyle.errors import NotFoundError
from jaxstyle.transfer.objectmap import SECOND_LOOK

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
# Pets: the first photo of each species in the folder's listing. DAVIS: dog_00040, the frame
# the rest of the suite uses (dog_00000 and dog_00010, a pale dog on dry grass, are among the
# map's known failures: docs/RESULTS.md, "Object map").
PHOTOS = [("pets", "cat_Abyssinian_101", "cat"), ("pets", "dog_american_bulldog_104", "dog"),
          ("masked", "davis_dog_00040", "dog")]
FLOOR = 0.6  # map IoU each must reach (the "photo is fine" line)
PROBE = {"learned": False}
MAPS = pytest.mark.parametrize("opts", [PROBE, None], ids=["probe-map", "learned-map"])


def _pair(folder, name, hw=None):
    img = images.load_image(SHARED / folder / f"{name}.jpg", 512)
    hw = hw or img.shape[:2]
    return img, images.load_mask(SHARED / folder / f"{name}_mask.png", hw)


@pytest.mark.parametrize("folder,name,cls", PHOTOS)
@MAPS
def test_whole_animal_on_real_photos(real_params, shared_data, opts, folder, name, cls):
    img, mask = _pair(folder, name)
    m = locate.auto_map(real_params, img, img.shape[:2], cls, map_options=opts)
    assert metrics.map_iou(m, mask, radius=metrics.band_radius(mask.shape)) >= FLOOR


@pytest.mark.parametrize("name", ["dog_english_setter_55", "dog_japanese_chin_118"])
def test_the_map_grows_from_the_head_to_the_body(real_params, shared_data, name):
    """Two dogs whose regions hold only the head: the map reaches the body through the probe's animal cells.

    Without that growth (objectmap.grown) they reach IoU 0.41 and 0.57 (docs/RESULTS.md).
    """
    img, mask = _pair("pets", name)
    m = locate.auto_map(real_params, img, img.shape[:2], "dog", map_options=PROBE)
    assert metrics.map_iou(m, mask, radius=metrics.band_radius(mask.shape)) >= 0.75


def test_a_small_dog_is_looked_at_closer(real_params, shared_data):
    """A small dog on a floor of its colour: the first look's map spills (IoU 0.05); a closer look
    at the crop around its sure cells finds it (objectmap.closer_look)."""
    img, mask = _pair("pets", "dog_shiba_inu_61")
    m = locate.auto_map(real_params, img, img.shape[:2], "dog", map_options=PROBE)
    assert metrics.map_iou(m, mask, radius=metrics.band_radius(mask.shape)) >= 0.6


@MAPS
def test_two_animals_only_the_asked_one(real_params, shared_data, opts):
    """A dog and a cat in one photo: --class dog leaves the cat untouched, and the other way round."""
    (dog, dmask), (cat, cmask) = _pair("pets", "dog_american_bulldog_104"), _pair("pets", "cat_Abyssinian_101")
    photo, (dm, cm) = composites.side_by_side([dog, cat], [dmask, cmask])
    for cls, own, other in (("dog", dm, cm), ("cat", cm, dm)):
        m = locate.auto_map(real_params, photo, photo.shape[:2], cls, map_options=opts)
        assert (m >= 0.5)[other >= 0.5].mean() <= 0.05, cls
        assert (m >= 0.5)[own >= 0.5].mean() >= 0.5, cls


def test_a_cat_beside_a_dog_is_found_by_the_second_look(real_params, shared_data):
    """At half the photo's width this cat's region is "cat" for one probe head only, so the first
    look refuses the photo; on a crop around the region the cat is a cat (objectmap.second_look,
    opt-in: ``--second-look``)."""
    (dog, dmask), (cat, cmask) = _pair("pets", "dog_american_bulldog_128"), _pair("pets", "cat_Bengal_48")
    photo, (dm, cm) = composites.side_by_side([dog, cat], [dmask, cmask])
    with pytest.raises(NotFoundError):
        locate.auto_map(real_params, photo, photo.shape[:2], "cat", map_options=PROBE)
    m = locate.auto_map(real_params, photo, photo.shape[:2], "cat", map_options={**PROBE, "second_look": SECOND_LOOK})
    assert (m >= 0.5)[cm >= 0.5].mean() >= 0.5
    assert (m >= 0.5)[dm >= 0.5].mean() <= 0.05


def test_the_second_look_skips_a_region_no_head_calls_the_class(real_params, shared_data):
    """Both probe heads call this goat a mammal; looked at again on a crop it would pass as a dog
    (cover 0.93 of it), so the second look takes only regions one head already calls the class."""
    img, _ = _pair("masked", "davis_goat_00045")
    with pytest.raises(NotFoundError, match="no dog found"):
        locate.auto_map(real_params, img, img.shape[:2], "dog", map_options={**PROBE, "second_look": SECOND_LOOK})


@MAPS
def test_two_dogs_in_one_photo_both_taken(real_params, shared_data, opts):
    """Several dogs in one photo: the map takes each of them, not only the one with the most evidence."""
    (a, ma), (b, mb) = _pair("pets", "dog_american_bulldog_104"), _pair("pets", "dog_english_setter_55")
    photo, placed = composites.side_by_side([a, b], [ma, mb])
    m = locate.auto_map(real_params, photo, photo.shape[:2], "dog", map_options=opts)
    assert min((m >= 0.5)[p >= 0.5].mean() for p in placed) >= 0.6


@MAPS
def test_no_dog_is_refused(real_params, shared_data, opts):
    photo = SHARED / "masked" / "davis_camel_00000.jpg"
    with pytest.raises(NotFoundError, match=r"no dog found in davis_camel_00000.jpg \(evidence 0\.\d\d < 0\.[27]0\)"):
        locate.auto_map(real_params, str(photo), (288, 512), "dog", map_options=opts)


@pytest.mark.parametrize("folder,name,opts", [("masked", "davis_goat_00045", PROBE), ("masked", "davis_goat_00045", None),
                                               ("pets", "cat_Abyssinian_71", PROBE)],
                         ids=["goat-probe-map", "goat-learned-map", "cat-probe-map"])
def test_lookalikes_of_a_dog_are_refused(real_params, shared_data, opts, folder, name):
    """Look-alikes refused under ``--class dog``: both probe heads call this goat a mammal, and the dog head
    finds no dog in it; this cat's region is "dog" for the probe's mean head (0.89) and "cat" for the first,
    and the probe map holds the class only where both heads agree (objectmap.regions). The learned map
    covers 0.12 of that cat as "dog" (docs/RESULTS.md, "Learned map and head gate")."""
    img, _ = _pair(folder, name)
    with pytest.raises(NotFoundError, match="no dog found"):
        locate.auto_map(real_params, img, img.shape[:2], "dog", map_options=opts)


def test_no_dog_cli_one_line_nothing_written(shared_data, tmp_path):
    out = tmp_path / "o.png"
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "scripts/stylize.py", "--content", str(SHARED / "masked" / "davis_camel_00000.jpg"),
                        "--class", "dog", "--size", "64", "--iterations", "2", "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert r.returncode == 1, r.stderr
    lines = [l for l in r.stderr.strip().splitlines() if l.strip()]
    assert "no dog found" in lines[-1] and "Traceback" not in r.stderr
    assert not out.exists() and not list(tmp_path.iterdir())
