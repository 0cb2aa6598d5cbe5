"""The layering of the package: which modules import what. The commands that colour photos and film, and the CLI
itself, import no training or GAN code; the ONNX pipeline, `--version` and `--help` import no torch. Each check runs
in a fresh interpreter, so what other tests imported does not count."""

import subprocess
import sys


def test_inference_imports_no_training_or_gan_code() -> None:
    """Every module behind `photo`, `photos`, `video`, `frames`, `eval` and `serve`, and the CLI itself, stays clear of
    training code and data."""
    entry_points = ("colorize.pipeline, colorize.inference, colorize.onnx_engine, colorize.photos, colorize.video, "
                    "colorize.temporal, colorize.evaluation, colorize.hint_solver, colorize.serve, colorize.cli")
    training = ("fastai.vision.gan", "colorize.train", "colorize.data", "colorize.losses")
    code = f"import sys, {entry_points}; print(sorted(m for m in sys.modules if m.startswith({training!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_the_onnx_pipeline_imports_no_torch() -> None:
    code = "import sys, colorize.pipeline, colorize.onnx_engine, colorize.photos, colorize.video, colorize.evaluation; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_version_and_help_do_not_import_torch() -> None:
    code = "import sys; from colorize.cli import app; app(['--version'])"
    r = subprocess.run([sys.executable, "-c", code + "\n"], capture_output=True, text=True)
    assert r.stdout.startswith("colorize ")
    probe = "import sys\nfrom colorize import cli\nassert 'torch' not in sys.modules, 'torch imported'\n"
    assert subprocess.run([sys.executable, "-c", probe]).returncode == 0
