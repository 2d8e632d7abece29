"""The new classes' maps on real held-out photos (real weights), a regression guard above a floor: of each
class, the first held-out photo of ``more-masked/`` in index order (jaxstyle/data/more_masked_split.json)
that the shipped probe maps at >= 0.6 (horse, sheep, bird: the first photo); for cattle and car, a photo the
probes trained at 224 px alone refused (the map judges it at 512 px; ``jaxstyle probe --size 224 384``,
docs/CLASSES.md); a horse left alone by the sheep map and a DAVIS cow by the horse map. RESULTS.md, "Any class", has the whole held-out
set."""
from pathlib import Path

import pytest

from helpers import SHARED
from jaxstyle import images
from jaxstyle.errors import NotFoundError
from jaxstyle.evaluate import metrics
from jaxstyle.transfer import locate

pytestmark = pytest.mark.slow
FLOOR = 0.6  # map IoU each must reach (the "photo is fine" line)
PHOTOS = [("horse", "horse_weizmann_168"), ("sheep", "sheep_msrc_9_11"), ("bird", "bird_msrc_12_10"),
          ("cow", "cow_msrc_5_12"), ("car", "car_msrc_7_20")]


def _pair(name):
    d = Path(SHARED) / "more-masked"
    img = images.load_image(d / f"{name}.jpg", 512)
    return img, images.load_mask(d / f"{name}_mask.png", img.shape[:2])


@pytest.mark.parametrize("cls,name", PHOTOS)
def test_each_new_class_maps_its_held_out_photo(real_params, shared_data, cls, name):
    img, mask = _pair(name)
    m = locate.auto_map(real_params, img, img.shape[:2], cls)
    assert metrics.map_iou(m, mask, radius=metrics.band_radius(mask.shape)) >= FLOOR


def test_a_cow_the_probe_found_only_once_it_saw_the_pools_at_512_px(real_params, shared_data):
    """The cattle probe trained at 224, 384 and 512 px finds this held-out MSRC cow (0.97 measured); trained at
    224 and 384 px it refused it (presence 0.00)."""
    img, mask = _pair("cow_msrc_5_1")
    m = locate.auto_map(real_params, img, img.shape[:2], "cow")
    assert metrics.map_iou(m, mask, radius=metrics.band_radius(mask.shape)) >= 0.9


def test_a_cow_of_the_davis_herd_is_not_a_horse(real_params, shared_data):
    """The horse probe trained at 224 and 384 px refuses this frame (presence 0.00); at 224 px alone it called
    0.95 of the cow "horse" (presence 0.67)."""
    img, _ = _pair("cow_davis2016_cows-00070")
    with pytest.raises(NotFoundError, match="no horse found"):
        locate.auto_map(real_params, img, img.shape[:2], "horse")


def test_a_horse_is_not_a_sheep(real_params, shared_data):
    img, _ = _pair("horse_weizmann_168")
    with pytest.raises(NotFoundError, match="no sheep found"):
        locate.auto_map(real_params, img, img.shape[:2], "sheep")
