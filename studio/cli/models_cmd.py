"""`studio-cli models list | verify NAME | import PATH [--name NAME] [--fp16] | remove NAME | fetch NAME | import-pose DIR`.

``fetch dwpose`` and ``import-pose DIR`` install the two DWPose ONNX files (the pose extractor) into
the library's pose-model folder (engine.weights.pose_models).

Errors are engine.errors exceptions; studio.cli's main prints them as one line and exits with their code.
A broken folder in the library (hostile or damaged model.json, paths leading outside it) is listed as
broken, never fatal; import and verify check every weights file against its config, not just checksums.
"""

from __future__ import annotations

import argparse


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``models`` command and its subcommands."""
    parser = subparsers.add_parser("models", help="list, verify, import, remove or fetch models in the model library")
    parser.add_argument("--library", metavar="DIR", default=None, help="model library folder (default: $TALKINGPOSE_MODELS_DIR or the user data dir)")
    actions = parser.add_subparsers(dest="models_action", metavar="ACTION", required=True)
    actions.add_parser("list", help="list installed models")
    verify = actions.add_parser("verify", help="re-hash a model's files and report missing or corrupt ones")
    verify.add_argument("name", metavar="NAME", help="model name (or the path of a model folder)")
    imported = actions.add_parser("import", help="import a released AnimateAnyone/TalkingPose folder or a model folder")
    imported.add_argument("path", metavar="PATH", help="folder holding pretrained_weights/ or denoising_unet.pth, or a model folder")
    imported.add_argument("--name", default=None, help="name in the library (default: the folder's name)")
    imported.add_argument("--fp16", action="store_true", help="store weights in half precision (half the disk space)")
    remove = actions.add_parser("remove", help="delete a model from the library")
    remove.add_argument("name", metavar="NAME")
    fetch = actions.add_parser("fetch", help="download a known model from the Hugging Face Hub")
    fetch.add_argument("name", metavar="NAME", help="talkingpose, animate-anyone or dwpose (the pose extractor's two ONNX files)")
    import_pose = actions.add_parser("import-pose", help="copy yolox_l.onnx and dw-ll_ucoco_384.onnx from a folder into the library")
    import_pose.add_argument("path", metavar="DIR", help="folder holding both DWPose ONNX files")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Carry out one ``models`` action; returns the exit code (errors are raised as StudioError)."""
    from engine.weights.library import Library

    library = Library(args.library)
    action = args.models_action
    if action == "list":
        return _list(library)
    if action == "verify":
        return _verify(library, args.name)
    if action == "import":
        folder = library.import_(args.path, name=args.name, fp16=args.fp16)
        print(f"imported {folder.name} into {folder} (checked keys, shapes and checksums)")
        return 0
    if action == "remove":
        library.remove(args.name)
        print(f"removed {args.name}")
        return 0
    if action == "import-pose" or (action == "fetch" and args.name == "dwpose"):
        from engine.weights import pose_models

        if action == "fetch":
            folder = pose_models.fetch_dwpose(library_root=library.root)
        else:
            folder = pose_models.import_pose_models(args.path, library_root=library.root)
        print(f"DWPose models in {folder} (signatures checked, sha256 recorded); `--pose-backend auto` now uses them")
        return 0
    if action == "fetch":
        from engine.weights.fetch import fetch

        folder = fetch(args.name, library=library)
        print(f"fetched {args.name} into {folder}")
        return 0
    raise AssertionError(f"unhandled models action {action!r}")  # argparse only allows the actions above


def _list(library) -> int:
    from engine.weights.library import list_models

    models = list_models(library)
    if not models:
        print(f"no models in {library.root}; add one with `studio-cli models import PATH` or `studio-cli models fetch NAME`")
        return 0
    print(f"{'NAME':<24} {'SIZE':>9} {'DTYPE':<5} {'RESOLUTION':<10} ARCHITECTURE")
    for info in models:
        if info.problem:
            print(f"{info.name:<24} {'?':>9} {'?':<5} {'?':<10} broken: {info.problem}")
            continue
        width, height = info.resolution
        print(f"{info.name:<24} {_size(info.size_bytes):>9} {info.dtype:<5} {f'{width}x{height}':<10} {info.architecture}")
    return 0


def _verify(library, name: str) -> int:
    from pathlib import Path

    from engine.errors import ModelError
    from engine.weights.library import DEMO_NAME, demo_model_dir
    from engine.weights.modelfolder import MODEL_JSON, verify_model

    path = Path(name).expanduser()
    if name == DEMO_NAME:
        if not (demo_model_dir() / MODEL_JSON).is_file():
            raise ModelError(f"the bundled demo model is missing from {demo_model_dir()}; reinstall TalkingPose Studio")
        problems = verify_model(demo_model_dir())
    elif (path / MODEL_JSON).is_file() and not library.has(name):
        problems = verify_model(path)
    else:
        problems = library.verify(name)
    for problem in problems:
        print(problem)
    if problems:
        raise ModelError(f"{name} has {len(problems)} damaged or missing files; re-import or re-fetch it")
    print(f"{name}: all files intact")
    return 0


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"
