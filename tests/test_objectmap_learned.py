"""The learned map (``--learned-map``) on the real weights and real photos, one per source kind."""
import pytest

from helpers import SHARED
from jaxstyle import data
from jaxstyle.errors import NotFoundError
from jaxstyle.evaluate import metrics
from jaxstyle.transfer import objectmap, stylize

pytestmark = pytest.mark.slow
LEARNED = dict(objectmap.LEARNED)


def _pair(folder, name):
    img = data.load_image(SHARED / folder / f"{name}.jpg", 512)
    return img, data.load_mask(SHARED / folder / f"{name}_mask.png", img.shape[:2])


def _iou(params, img, mask, cls, **opts):
    m = stylize.auto_map(params, img, img.shape[:2], cls, map_options={**LEARNED, **opts})
    return metrics.map_iou(m, mask, radius=metrics.band_radius(mask.shape))


# (folder, photo, class, floor): a pet, a DAVIS frame and an MSRC photo of each class the heads ship for
PHOTOS = [("pets", "dog_american_bulldog_104", "dog", FLOOR := 0.6), ("masked", "davis_dog_00040", "dog", FLOOR),
          ("more-masked", "dog_msrc_16_10", "dog", FLOOR), ("pets", "cat_Abyssinian_101", "cat", FLOOR),
          ("more-masked", "cat_msrc_17_1", "cat", FLOOR)]


@pytest.mark.parametrize("folder,name,cls,floor", PHOTOS)
def test_learned_map_per_source(real_params, shared_data, folder, name, cls, floor):
    img, mask = _pair(folder, name)
    assert _iou(real_params, img, mask, cls) >= floor


def test_colour_spill_stays_off_a_floor_of_the_dogs_colour(real_params, shared_data):
    """A small shiba on a floor of its colour: the head's sure background keeps GrabCut off the floor."""
    img, mask = _pair("pets", "dog_shiba_inu_61")
    assert _iou(real_params, img, mask, "dog") >= 0.6


def test_a_small_dog_is_found_not_refused(real_params, shared_data):
    """A dog on 2 % of an MSRC frame: present, and mapped."""
    img, mask = _pair("more-masked", "dog_msrc_16_22")
    assert _iou(real_params, img, mask, "dog") >= 0.3


def test_a_cat_is_refused_by_the_dog_map(real_params, shared_data):
    img, _ = _pair("pets", "cat_Abyssinian_101")
    with pytest.raises(NotFoundError):
        stylize.auto_map(real_params, img, img.shape[:2], "dog", map_options=LEARNED)
