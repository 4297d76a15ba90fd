"""The render queue with the fake engine: event order, streaming, cancel, errors, resume after restart."""

from __future__ import annotations

import json
import threading

from engine.config import RenderSettings
from engine.events import FrameReady
from studio.gui.project import Prefs
from studio.gui.viewmodels.render_queue import CANCELLED, DONE, FAILED, INTERRUPTED, RenderQueueModel, queue_path
from studio_testkit import frame_value, wait_until


def settings(**changes) -> RenderSettings:
    return RenderSettings(steps=3, width=64, height=64).replace(**changes)


def add(queue: RenderQueueModel, media, start=0, end=6, model="demo", **changes):
    return queue.add(str(media["source"]), str(media["video"]), settings(**changes), model, start, end, True, 0.0)


def test_render_streams_frames_in_order_and_finishes(qtbot, fake_backend, media):
    queue = RenderQueueModel(fake_backend)
    frames: list[tuple[str, int, int]] = []
    queue.frame_ready.connect(lambda entry_id, event: frames.append((entry_id, event.index, int(event.image[0, 0, 0]))))
    entry = add(queue, media, start=4, end=9)
    wait_until(qtbot, lambda: entry.state == DONE)
    assert frames == [(entry.id, k, frame_value(4 + k)) for k in range(5)]
    assert (entry.frames_done, entry.frames_total, entry.created) == (5, 5, True)
    assert entry.seconds_per_frame > 0 and entry.eta_seconds == 0
    assert [c[0] for c in fake_backend.calls] == ["create_job", "run_job"]


def test_jobs_run_one_at_a_time_in_queue_order(qtbot, fake_backend, media):
    queue = RenderQueueModel(fake_backend)
    first, second = add(queue, media, end=3), add(queue, media, end=2, seed=5)
    assert (first.state, second.state) == ("running", "queued")
    order: list[str] = []
    queue.frame_ready.connect(lambda entry_id, event: order.append(entry_id))
    wait_until(qtbot, lambda: second.state == DONE)
    assert order == [first.id] * 3 + [second.id] * 2


def test_cancel_keeps_finished_frames_and_resume_renders_only_the_rest(qtbot, fake_backend, media):
    fake_backend.delay = 0.01
    queue = RenderQueueModel(fake_backend)
    entry = add(queue, media, end=20)
    wait_until(qtbot, lambda: entry.frames_done >= 3)
    queue.cancel(entry.id)
    wait_until(qtbot, lambda: entry.state == CANCELLED)
    done_at_cancel = entry.frames_done
    assert 3 <= done_at_cancel < 20 and entry.resumable
    assert fake_backend.rendered == list(range(done_at_cancel))
    fake_backend.delay = 0.001
    queue.resume(entry.id)
    wait_until(qtbot, lambda: entry.state == DONE)
    assert fake_backend.rendered == list(range(20)), "resume must continue after the last frame, not redo any"
    assert entry.frames_done == 20


def test_queue_survives_restart_and_resumes(qtbot, fake_backend, media):
    fake_backend.delay = 0.01
    queue = RenderQueueModel(fake_backend)
    entry = add(queue, media, end=12)
    wait_until(qtbot, lambda: entry.frames_done >= 2)
    # "Crash": the app goes away mid-render. The thread is stopped the way closing the app stops it,
    # but the queue file is what was on disk while it ran (state "running").
    on_disk_while_running = json.loads(queue_path().read_text())
    queue.shutdown()
    wait_until(qtbot, lambda: entry.state == CANCELLED)
    queue_path().write_text(json.dumps(on_disk_while_running))
    rendered_before = list(fake_backend.rendered)

    restarted = RenderQueueModel(fake_backend)
    [revived] = restarted.entries
    assert (revived.id, revived.state, revived.created) == (entry.id, INTERRUPTED, True)
    assert "press Resume" in revived.message
    restarted.resume(revived.id)
    wait_until(qtbot, lambda: revived.state == DONE)
    assert ("open_job", entry.id) in fake_backend.calls
    assert fake_backend.rendered == rendered_before + list(range(len(rendered_before), 12))
    assert json.loads(queue_path().read_text())["entries"][0]["state"] == DONE


def test_missing_model_fails_entry_with_clear_message_and_queue_moves_on(qtbot, fake_backend, media):
    queue = RenderQueueModel(fake_backend)
    errors: list[str] = []
    queue.error.connect(errors.append)
    broken, good = add(queue, media, model="nope"), add(queue, media, end=2)
    wait_until(qtbot, lambda: good.state == DONE)
    assert broken.state == FAILED
    assert errors == [broken.message] == ["model 'nope' is not installed; pick demo or install it with studio-cli models"]


def test_export_writes_file_and_remembers_folder(qtbot, fake_backend, media, tmp_path):
    queue = RenderQueueModel(fake_backend)
    entry = add(queue, media, end=3)
    wait_until(qtbot, lambda: entry.state == DONE)
    out = tmp_path / "out" / "clip.mp4"
    out.parent.mkdir()
    with qtbot.waitSignal(queue.export(entry.id, out, "web", False).finished, timeout=5000):
        pass
    assert json.loads(out.read_text()) == {"frames": 3, "preset": "web", "audio": False}
    assert queue.output_folder(entry.id) == out.parent and not entry.exporting
    errors: list[str] = []
    queue.error.connect(errors.append)
    with qtbot.waitSignal(queue.export(entry.id, tmp_path / "missing" / "x.mp4", "web", True).finished, timeout=5000):
        pass
    assert errors and errors[0].startswith("cannot write") and errors[0].endswith("choose another folder")


def test_studio_render_uses_in_out_range_and_streams_into_preview(qtbot, loaded_model):
    loaded_model.settings.set(steps=2, width=64, height=64)
    loaded_model.timeline.set_range(10, 13)
    entry = loaded_model.render()
    assert (entry.start, entry.end, entry.frames_total) == (10, 14, 4)
    wait_until(qtbot, lambda: entry.state == DONE)
    assert loaded_model.preview.generated_image[0, 0, 0] == frame_value(13)
    assert loaded_model.preview.generated_caption.endswith("frame 14 (4 of 4)")  # the driving frame number


def test_render_without_inputs_reports_error(qtbot, fake_backend):
    from studio.gui.viewmodels.studio import StudioModel

    model = StudioModel(fake_backend, Prefs())
    with qtbot.waitSignal(model.error, timeout=1000) as blocker:
        assert model.render() is None
    assert blocker.args == ["choose a source image and a driving video before rendering"]
    assert model.queue.entries == []


def test_frame_events_reach_listeners_on_ui_thread(qtbot, fake_backend, media):
    queue = RenderQueueModel(fake_backend)
    threads: set[int] = set()
    queue.frame_ready.connect(lambda entry_id, event: threads.add(threading.get_ident()) if isinstance(event, FrameReady) else None)
    entry = add(queue, media, end=2)
    wait_until(qtbot, lambda: entry.state == DONE)
    assert threads == {threading.get_ident()}
