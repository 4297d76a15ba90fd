"""Draw the app icon: ``resources/icons/talkingpose-studio.{svg,ico,icns}`` and PNGs at 48/128/256 px.

A figure's bust with one arm raised and two motion arcs around the hand, amber on a dark tile.
One list of shapes feeds both the SVG and the Pillow rendering (4x supersampled), so the PNGs
are the SVG's pixels. Re-run after changing a shape: ``.venv/bin/python installers/make_icons.py``.
"""

from __future__ import annotations

import io
import math
import struct
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "resources" / "icons"
NAME = "talkingpose-studio"
VIEW = 256
TILE, ACCENT, GLOW = "#1f2029", "#f0a040", "#ffd27f"
HEAD = (112, 88, 30)  # cx, cy, r
BUST = ((62, 222), (62, 152), (84, 128), (112, 128), (140, 128), (162, 152), (162, 222))  # two cubic Béziers
ARM = ((144, 150), (186, 104), 24)  # shoulder, hand, width
ARCS = ((186, 104, 32, -115, -15, 10, 0.95), (186, 104, 50, -112, -18, 9, 0.55))  # cx, cy, r, from°, to°, width, opacity


def svg() -> str:
    (x0, y0), (_, c1y), (c2x, c2y), (tx, ty), (c3x, c3y), (_, c4y), (x1, y1) = BUST
    (sx, sy), (hx, hy), arm_width = ARM
    arcs = []
    for cx, cy, r, start, end, width, opacity in ARCS:
        (ax, ay), (bx, by) = _polar(cx, cy, r, start), _polar(cx, cy, r, end)
        arcs.append(f'  <path d="M{ax:.1f} {ay:.1f} A{r} {r} 0 0 1 {bx:.1f} {by:.1f}" fill="none" stroke="{GLOW}" '
                    f'stroke-width="{width}" stroke-linecap="round" opacity="{opacity}"/>')
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{VIEW}" height="{VIEW}" viewBox="0 0 {VIEW} {VIEW}">',
        "  <title>TalkingPose Studio</title>",
        f'  <rect x="8" y="8" width="240" height="240" rx="52" fill="{TILE}"/>',
        f'  <circle cx="{HEAD[0]}" cy="{HEAD[1]}" r="{HEAD[2]}" fill="{ACCENT}"/>',
        f'  <path d="M{x0} {y0} L{x0} {c1y} C{x0} {c2y} {c2x} {c2y} {tx} {ty} C{c3x} {c3y} {x1} {c3y} {x1} {c4y} L{x1} {y1} Z" '
        f'fill="{ACCENT}"/>',
        f'  <line x1="{sx}" y1="{sy}" x2="{hx}" y2="{hy}" stroke="{ACCENT}" stroke-width="{arm_width}" stroke-linecap="round"/>',
        *arcs,
        "</svg>",
        "",
    ])


def _polar(cx: float, cy: float, r: float, degrees: float) -> tuple[float, float]:
    return cx + r * math.cos(math.radians(degrees)), cy + r * math.sin(math.radians(degrees))


def _bezier(p0, p1, p2, p3, steps: int = 32) -> list[tuple[float, float]]:
    points = []
    for i in range(steps + 1):
        t = i / steps
        points.append(tuple((1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t ** 2 * c + t ** 3 * d
                            for a, b, c, d in zip(p0, p1, p2, p3)))
    return points


def render(size: int) -> Image.Image:
    scale = size * 4 / VIEW
    big = Image.new("RGBA", (size * 4, size * 4), (0, 0, 0, 0))
    draw = ImageDraw.Draw(big)

    def s(*values):
        return [v * scale for v in values]

    draw.rounded_rectangle(s(8, 8, 248, 248), radius=52 * scale, fill=TILE)
    cx, cy, r = HEAD
    draw.ellipse(s(cx - r, cy - r, cx + r, cy + r), fill=ACCENT)
    (x0, y0), c1, c2, top, c3, c4, (x1, y1) = BUST
    shoulder_left, shoulder_right = (x0, c1[1]), (x1, c4[1])
    outline = [(x0, y0), *_bezier(shoulder_left, (x0, c2[1]), c2, top), *_bezier(top, c3, (x1, c3[1]), shoulder_right), (x1, y1)]
    draw.polygon([(x * scale, y * scale) for x, y in outline], fill=ACCENT)
    (sx, sy), (hx, hy), width = ARM
    draw.line(s(sx, sy, hx, hy), fill=ACCENT, width=round(width * scale))
    for x, y in ((sx, sy), (hx, hy)):  # round caps
        draw.ellipse(s(x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=ACCENT)
    for acx, acy, ar, start, end, aw, opacity in ARCS:
        layer = Image.new("RGBA", big.size, (0, 0, 0, 0))
        pen = ImageDraw.Draw(layer)
        bbox = s(acx - ar - aw / 2, acy - ar - aw / 2, acx + ar + aw / 2, acy + ar + aw / 2)
        pen.arc(bbox, start, end, fill=GLOW, width=round(aw * scale))
        for degrees in (start, end):
            x, y = _polar(acx, acy, ar, degrees)
            pen.ellipse(s(x - aw / 2, y - aw / 2, x + aw / 2, y + aw / 2), fill=GLOW)
        alpha = layer.getchannel("A").point(lambda value: round(value * opacity))
        layer.putalpha(alpha)
        big = Image.alpha_composite(big, layer)
        draw = ImageDraw.Draw(big)
    return big.resize((size, size), Image.Resampling.LANCZOS)


def icns(images: dict[int, Image.Image]) -> bytes:
    """Apple's icon container: PNG chunks typed by size (ic07 = 128, ic08 = 256, ic09 = 512)."""
    chunks = b""
    for kind, size in ((b"ic07", 128), (b"ic08", 256), (b"ic09", 512)):
        data = io.BytesIO()
        images[size].save(data, "PNG")
        chunks += kind + struct.pack(">I", 8 + len(data.getvalue())) + data.getvalue()
    return b"icns" + struct.pack(">I", 8 + len(chunks)) + chunks


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{NAME}.svg").write_text(svg(), encoding="utf-8")
    images = {size: render(size) for size in (16, 32, 48, 128, 256, 512)}
    for size in (48, 128, 256):
        images[size].save(OUT / f"{NAME}-{size}.png", optimize=True)
    images[256].save(OUT / f"{NAME}.ico", sizes=[(16, 16), (32, 32), (48, 48), (256, 256)])
    (OUT / f"{NAME}.icns").write_bytes(icns(images))
    print(f"wrote the icon files into {OUT}")


if __name__ == "__main__":
    main()
