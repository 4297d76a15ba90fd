"""engine.sample_pose: the bundled puppet's known pose, and only for the unedited sample."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.sample_pose import known_source_pose
from engine.video.reader import read_image

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"
pytestmark = pytest.mark.skipif(not (SAMPLES / "source.png").is_file(),
                                reason="the bundled samples (resources/samples) are not installed")


def test_the_bundled_source_has_its_puppets_pose():
    image = read_image(SAMPLES / "source.png")
    pose = known_source_pose(SAMPLES / "source.png", image)
    assert pose is not None and pose.has_person
    assert (pose.face[:, 2] > 0).sum() > 10, "the face keypoints are known too"
    assert ((pose.body[:, :2] >= 0) & (pose.body[:, :2] <= 1)).all(), "normalised like detect_image"


def test_an_edited_renamed_or_moved_picture_is_not_the_sample(tmp_path):
    image = read_image(SAMPLES / "source.png")
    edited = image.copy()
    edited[:20, :20] = 255 - edited[:20, :20]
    assert known_source_pose(SAMPLES / "source.png", edited) is None
    folder = tmp_path / "samples"
    folder.mkdir()
    shutil.copy(SAMPLES / "source.png", folder / "portrait.png")
    assert known_source_pose(folder / "portrait.png", image) is None  # not the sample's name
    shutil.copy(SAMPLES / "source.png", folder / "source.png")
    assert known_source_pose(folder / "source.png", image) is None  # no samples.json beside it
    assert known_source_pose(SAMPLES / "source.png", np.zeros((64, 64, 3), np.uint8)) is None
