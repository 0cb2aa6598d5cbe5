"""Ship a model for the light install: its ONNX export beside its checkpoint, weights stored as float16 (the
checkpoint's own precision), recorded with its sha256 and inference settings in the model's manifest.

    python scripts/ship_onnx.py weights/colorize-lite0-v7.pt

Run once per shipped model; `colorize photo|photos|video|frames|serve` then run it on onnxruntime without PyTorch.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime
import torch

from colorize.atomic import atomic_write
from colorize.export import export_model, store_half
from colorize.pipeline import RENDER_UNIT_PX, InferenceConfig, stride_multiple
from colorize.weights import load_generator, read_manifest, sha256_file, verify_manifest

# The shipped export against PyTorch running the same checkpoint: float16 storage of weights folded in float32.
MAX_SHIPPED_DIFF = 5e-3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("weights", type=Path, help="a shipped checkpoint, NAME.pt beside NAME.json")
    args = parser.parse_args()
    manifest_path = args.weights.with_suffix(".json")
    manifest = read_manifest(manifest_path)
    verify_manifest(args.weights, manifest)
    model, meta = load_generator(args.weights)
    inference = InferenceConfig.from_checkpoint(meta)
    size = stride_multiple(inference.render_factor * RENDER_UNIT_PX)
    out = args.weights.with_suffix(".onnx")
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "full.onnx"
        report = export_model(model, full, "onnx", size)
        halved = store_half(full, out)
    worst = 0.0
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    reference, _ = load_generator(args.weights)
    for side in (size, size + 32, 2 * size):
        feeds = {"luminance": np.random.default_rng(side).random((1, 1, side, side), np.float32)}
        if inference.hint_input != "none":
            feeds["hints"] = np.zeros((1, reference.hint_in.in_channels, side, side), np.float32)
        with torch.no_grad():
            expected = reference(torch.from_numpy(feeds["luminance"]),
                                 **({"hints": torch.from_numpy(feeds["hints"])} if "hints" in feeds else {})).numpy()
        worst = max(worst, float(np.abs(session.run(None, feeds)[0] - expected).max()))
    if not worst <= MAX_SHIPPED_DIFF:
        out.unlink()
        raise SystemExit(f"{out}: differs from PyTorch by {worst:.2e} (> {MAX_SHIPPED_DIFF}); not shipped")
    manifest["onnx"] = {"file": out.name, "sha256": sha256_file(out), "inference": inference.to_dict(),
                        "max_abs_diff_vs_pytorch": round(worst, 6), "sides_checked_px": [size, size + 32, 2 * size]}
    atomic_write(manifest_path, lambda tmp: tmp.write_text(json.dumps(manifest, indent=2) + "\n"))
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MB, {halved} tensors stored as float16, export check "
          f"{report.max_abs_diff:.1e}); against PyTorch at {size}, {size + 32} and {2 * size} px: max |diff| {worst:.1e}")


if __name__ == "__main__":
    main()
