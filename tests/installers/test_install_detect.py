"""Which torch build the installer picks: fake nvidia-smi on PATH, pretend platforms, overrides."""

from __future__ import annotations

import pytest
from installer_kit import REPO, fake_program

from tpsetup import machine, packages
from tpsetup.machine import CPU_TORCH_INDEX, CUDA_TORCH_INDEX, InstallError, Machine

H200 = 'echo "GPU 0: NVIDIA H200 (UUID: GPU-1234)"; echo "GPU 1: NVIDIA L4 (UUID: GPU-5678)"'


def test_nvidia_smi_listing_gpus_gives_cuda_torch_and_onnxruntime_gpu(tmp_path):
    fake_program(tmp_path / "bin", "nvidia-smi", H200)
    found = machine.detect("Linux", "x86_64", str(tmp_path / "bin"))
    assert found.gpus == ("NVIDIA H200", "NVIDIA L4")
    choice = machine.choose_torch(found)
    assert (choice.kind, choice.index_url, choice.onnxruntime) == ("cuda", CUDA_TORCH_INDEX, "onnxruntime-gpu")


@pytest.mark.parametrize("script", ['echo "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver."; exit 9',
                                    "exit 0"], ids=["driver-missing", "empty-listing"])
def test_nvidia_smi_without_a_gpu_gives_cpu_torch(tmp_path, script):
    fake_program(tmp_path / "bin", "nvidia-smi", script)
    found = machine.detect("Linux", "x86_64", str(tmp_path / "bin"))
    assert found.gpus == () and "lists no GPU" in found.notes[0]
    assert machine.choose_torch(found).kind == "cpu"


def test_no_nvidia_smi_on_path_gives_cpu_torch_from_the_cpu_index(tmp_path):
    found = machine.detect("Windows", "AMD64", str(tmp_path))
    choice = machine.choose_torch(found)
    assert (found.gpus, choice.kind, choice.index_url, choice.onnxruntime) == ((), "cpu", CPU_TORCH_INDEX, "onnxruntime")


@pytest.mark.parametrize(("arch", "kind"), [("arm64", "mps"), ("x86_64", "cpu")])
def test_macs_take_the_default_torch_build(tmp_path, arch, kind):
    choice = machine.choose_torch(machine.detect("Darwin", arch, str(tmp_path)))
    assert (choice.kind, choice.index_url) == (kind, None)


def test_torch_flag_overrides_detection_and_refuses_impossible_builds(tmp_path):
    fake_program(tmp_path / "bin", "nvidia-smi", H200)
    gpu_box = machine.detect("Linux", "x86_64", str(tmp_path / "bin"))
    assert machine.choose_torch(gpu_box, "cpu").kind == "cpu"
    assert machine.choose_torch(gpu_box, None, "default").index_url is None
    assert machine.choose_torch(gpu_box, None, "https://example.org/cu126").index_url == "https://example.org/cu126"
    with pytest.raises(InstallError, match="--torch mps needs a Mac"):
        machine.choose_torch(gpu_box, "mps")
    with pytest.raises(InstallError, match="no CUDA torch for macOS"):
        machine.choose_torch(Machine("Darwin", "arm64"), "cuda")


def test_cuda_swaps_the_onnxruntime_pin_and_every_build_leaves_torch_to_its_own_step(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text("numpy==1.26.4\nonnxruntime==1.32.0\ntorch==2.13.0\n# comment\n")
    pins = packages.read_pins(lock)
    cuda = machine.choose_torch(Machine("Linux", "x86_64", ("NVIDIA H200",)))
    cpu = machine.choose_torch(Machine("Linux", "x86_64"))
    assert packages.pins_for(pins, cuda) == ["numpy==1.26.4", "onnxruntime-gpu==1.32.0"]
    assert packages.pins_for(pins, cpu) == ["numpy==1.26.4", "onnxruntime==1.32.0"]
    assert packages.torch_pin(pins) == "torch==2.13.0"
    lock.write_text("numpy==1.26.4\ntorch==2.13.0\n")  # before the pose issue adds ONNX Runtime
    assert packages.pins_for(packages.read_pins(lock), cuda) == ["numpy==1.26.4"]


def test_the_real_lock_pins_torch_2_13_and_the_installer_reads_every_line():
    lock = packages.read_pins(REPO / "requirements.lock")
    lines = [line for line in (REPO / "requirements.lock").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert packages.torch_pin(lock) == "torch==2.13.0"
    assert len(lock) == len(lines)


def test_default_prefix_per_os_follows_the_platform_conventions():
    assert str(machine.default_prefix("Linux", {}, "/home/ana")) == "/home/ana/.local/share/talkingpose-studio"
    assert str(machine.default_prefix("Linux", {"XDG_DATA_HOME": "/data/ana"}, "/home/ana")) == "/data/ana/talkingpose-studio"
    assert str(machine.default_prefix("Linux", {"XDG_DATA_HOME": "relative"}, "/home/ana")) == "/home/ana/.local/share/talkingpose-studio"
    assert str(machine.default_prefix("Darwin", {}, "/Users/ana")) == "/Users/ana/Library/Application Support/talkingpose-studio"
    assert str(machine.default_prefix("Windows", {"LOCALAPPDATA": r"C:\Users\ana\AppData\Local"}, r"C:\Users\ana")) \
        == r"C:\Users\ana\AppData\Local\talkingpose-studio"
