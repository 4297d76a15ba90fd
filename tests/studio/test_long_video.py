"""Long driving videos (issue 19): the analysis streams, so overlays, scrubbing and Render work before it ends."""

from __future__ import annotations

import pytest

from studio.gui.viewmodels.media import THUMBNAIL_COUNT
from studio_testkit import OVERLAY_MARK, frame_value, wait_until, write_fake_video

HOUR_FRAMES = 25 * 3600  # a one-hour video at 25 fps
HELD_AT = 5  # the fake analysis stops before this frame until released


@pytest.fixture
def window(stopping_window):
    return stopping_window


@pytest.fixture
def long_video(qtbot, window, media, fake_backend, tmp_path):
    """The portrait and an hour-long video open, its analysis held after HELD_AT frames."""
    fake_backend.hold_poses_at = HELD_AT
    window.model.open_source(media["source"])
    window.model.open_driving(write_fake_video(tmp_path / "hour.mp4", frames=HOUR_FRAMES, fps=25.0))
    wait_until(qtbot, lambda: window.model.driving.pose_progress[0] == HELD_AT and window.model.source.info is not None)
    return window.model.driving.pose_handle


def overlaid(image) -> bool:
    return tuple(image[0, 0]) == OVERLAY_MARK


def test_frame_0_shows_its_pose_and_render_starts_before_the_analysis_ends(qtbot, window, long_video, fake_backend):
    model = window.model
    wait_until(qtbot, lambda: model.preview.driving_index == 0 and overlaid(model.preview.driving_image))
    assert model.driving.extracting and model.driving.poses is None
    assert model.driving.pose_progress == (HELD_AT, HOUR_FRAMES)
    assert window.render_button.isEnabled()
    entry = model.render()
    assert entry is not None and entry.frames_total == HOUR_FRAMES
    wait_until(qtbot, lambda: any(call[0] == "run_job" for call in fake_backend.calls))
    assert model.driving.extracting, "the render started while the analysis was still running"
    model.queue.cancel(entry.id)


def test_scrubbing_during_analysis_overlays_as_frames_arrive(qtbot, window, long_video):
    model = window.model
    model.timeline.seek(3)
    wait_until(qtbot, lambda: model.preview.driving_index == 3 and overlaid(model.preview.driving_image))
    model.timeline.seek(HELD_AT + 2)  # not analysed yet: the frame shows at once, without a pose
    wait_until(qtbot, lambda: model.preview.driving_index == HELD_AT + 2)
    assert not overlaid(model.preview.driving_image)
    assert model.preview.driving_image[1, 1, 0] == frame_value(HELD_AT + 2)
    long_video.release()  # the analysis passes the playhead: its pose appears without another seek
    wait_until(qtbot, lambda: overlaid(model.preview.driving_image))
    assert model.preview.driving_index == HELD_AT + 2


def test_opening_reads_only_the_thumbnails_it_shows(qtbot, window, long_video, fake_backend):
    wait_until(qtbot, lambda: window.model.driving.thumbnails_complete and window.model.preview.driving_index == 0)
    read = sorted({call[1] for call in fake_backend.calls if call[0] == "read_frame"})
    assert len(window.model.driving.thumbnail_indices) == THUMBNAIL_COUNT
    assert read == sorted(set(window.model.driving.thumbnail_indices) | {0})  # and the frame under the playhead
    assert read[-1] == HOUR_FRAMES - 1


def test_cancel_stops_the_analysis_and_keeps_what_was_analysed(qtbot, window, long_video):
    model = window.model
    assert window.timeline_panel.pose_cancel.isVisible()
    window.timeline_panel.pose_cancel.click()
    wait_until(qtbot, lambda: long_video.closed)
    assert not model.driving.extracting and model.driving.pose_error == "pose extraction was cancelled"
    assert long_video.done == HELD_AT and not window.timeline_panel.pose_cancel.isVisible()
    model.timeline.seek(2)
    wait_until(qtbot, lambda: model.preview.driving_index == 2 and overlaid(model.preview.driving_image))
    assert model.render() is not None  # a cancelled analysis does not block a render (it analyses again)
