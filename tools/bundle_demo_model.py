"""Bundle a trained model as the demo model: ``resources/models/demo`` in our model folder format (fp16).

    python -m tools.bundle_demo_model MODEL [--steps 20] [--cfg 2.0]

MODEL is a library name (e.g. ``demo-puppets``, what ``studio-cli train resources/models/demo-train.toml``
produces) or a model folder. Weights are stored in fp16 to halve the size; they load as fp32 on the CPU.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch

from engine.weights import load_model, save_model_folder, verify_model

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--cfg", type=float, default=2.0)
    parser.add_argument("--beta", type=float, default=0.05)
    parser.add_argument("--out", type=Path, default=REPO / "resources" / "models" / "demo")
    args = parser.parse_args()

    loaded = load_model(args.model)
    notes = (
        f"{loaded.info.notes} Trained with resources/models/demo-train.toml, bundled with "
        f"tools/bundle_demo_model.py (fp16). CLIP image encoder: random and frozen (a fixed feature extractor)."
    ).strip()
    if args.out.exists():
        shutil.rmtree(args.out)
    save_model_folder(
        loaded.components, args.out, "demo", resolution=tuple(loaded.info.resolution),
        defaults={"steps": args.steps, "cfg": args.cfg, "beta": args.beta}, notes=notes, dtype=torch.float16,
        source="TalkingPose Studio (this repository)", license="same as this repository",
    )
    problems = verify_model(args.out)
    size_mb = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file()) / 2**20
    print(f"wrote {args.out} ({size_mb:.1f} MB); verify: {problems or 'ok'}")


if __name__ == "__main__":
    main()
