"""Class 6: an image is measured from its header before it is decoded; above MAX_IMAGE_PIXELS it is
refused as an input error (exit 2), never a cv2.error or an out-of-memory crash."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from engine.errors import InputError
from engine.video.reader import MAX_IMAGE_PIXELS, read_image


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A few hundred bytes whose PNG header claims ``width`` x ``height`` RGB pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("width, height", [(100_000, 100_000), (20_000, 20_000), (7_072, 7_072)])
def test_images_claiming_too_many_pixels_are_refused_before_decoding(tmp_path, width, height):
    assert width * height > MAX_IMAGE_PIXELS
    with pytest.raises(InputError) as caught:
        read_image(png_claiming(tmp_path / "bomb.png", width, height))
    message = str(caught.value)
    assert message.startswith("bomb.png has ") and "more than the 50 megapixels" in message and "\n" not in message


def test_an_image_at_the_limit_is_not_refused_for_its_size(tmp_path):
    # 7071 x 7071 is just under 50 MP: the header check passes it on, and OpenCV finds the data broken
    with pytest.raises(InputError, match="is not a readable image"):
        read_image(png_claiming(tmp_path / "big.png", 7_071, 7_071))


def test_animate_with_a_bomb_source_exits_2_with_one_line(tmp_path, cli, valid_inputs):
    driving = valid_inputs[1]
    bomb = png_claiming(tmp_path / "bomb.png", 100_000, 100_000)

    code, _, errors = cli("animate", bomb, driving, "-o", tmp_path / "out.mp4", "--model", "no-such-model", "--quiet")

    assert code == 2 and len(errors) == 1 and "bomb.png has" in errors[0]
    assert not (tmp_path / "out.mp4").exists()


def test_ordinary_images_still_read(tmp_path):
    import cv2

    pixels = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "ok.png"), pixels[:, :, ::-1])
    assert np.array_equal(read_image(tmp_path / "ok.png"), pixels)
