"""What the evaluations write: table numbers, CSV, contact sheets."""
import math

import numpy as np
import pytest

from jaxstyle.evaluate import report


def test_gallery_layout():
    img = np.zeros((20, 40, 3), np.float32)
    sheet = report.gallery([("a", img, "cap"), ("map", np.ones((20, 40)) * 0.5, ""), ("b", None, "")],
                             cols=2, width=80, gap=4)
    assert sheet.dtype == np.uint8 and sheet.shape[1] == 2 * 80 + 3 * 4
    with pytest.raises(ValueError):
        report.gallery([("x", None, "")])


def test_numbers_for_tables_and_csv():
    assert report.stats([3.0, float("nan"), 1.0, None, 2.0]) == (2.0, 1.0, 3.0, 3)
    assert math.isnan(report.stats([float("nan")])[0])
    assert (report.fmt(float("nan")), report.fmt(float("inf")), report.fmt(61.94, "psnr_bg"), report.fmt(0.5)) == \
        ("–", "∞", "61.9", "0.50")
    assert report.finite_or_none(float("-inf")) == "-inf" and report.finite_or_none(float("nan")) is None
    text = report.csv_text([{"a": 0.1, "b": True, "c": "x"}, {"a": float("nan")}], ("a", "b"))
    assert text == "a,b\n0.1,1\nnan,\n"
