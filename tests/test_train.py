"""Training (colorize/train): the NoGAN recipe end to end on tiny models and a folder of small synthetic photos,
stages that resume after Ctrl-C or SIGTERM."""

import csv
import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from colorize.cli import app
from colorize.config import DataConfig, RecipeConfig, load_recipe, merge
from colorize.corpus import list_photos, split_photos
from colorize.data import crappify
from colorize.errors import ConfigError
from colorize.train import pretrain_critic, pretrain_gen
from colorize.train.common import StageContext, StopRequest
from colorize.weights import load_generator, read_checkpoint

from helpers import at_step, color_folder, interrupt, scene

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "recipes" / "smoke.toml"
TINY = {"model.arch": "tiny"}
runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def finished_run(photo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("run")
    r = runner.invoke(app, ["train", "all", "--data", str(photo_dir), "--run", str(run), "--recipe", str(SMOKE),
                            "--arch", "tiny", "--device", "cpu"])
    assert r.exit_code == 0, r.stderr
    return run


def test_recipe_leaves_every_stage_artifact(finished_run: Path) -> None:
    run = finished_run
    for stage in ("1-pretrain-gen", "2-cache", "3-pretrain-critic", "4-gan"):
        assert (run / stage / "DONE").is_file() and (run / stage / "config.toml").is_file()
    assert (run / "1-pretrain-gen" / "gen.pt").is_file() and (run / "1-pretrain-gen" / "samples.png").is_file()
    assert len(list((run / "2-cache" / "images").glob("*.png"))) == 16
    assert (run / "3-pretrain-critic" / "crit.pt").is_file()
    for name in ("metrics.csv", "metrics.png", "contact_sheet.png", "best.pt"):
        assert (run / "4-gan" / name).is_file()
    assert (run / "recipe.toml").is_file() and (run / "final.pt").is_file()
    manifest = json.loads((run / "final.json").read_text())
    assert manifest["model_config"]["arch"] == "tiny"
    assert "VGG16" in manifest["training"]["loss"] or "no VGG" in manifest["training"]["loss"]
    # The device comes from stage 1's DONE, written when it trained, so a later re-export cannot rewrite it.
    gen_done = json.loads((run / "1-pretrain-gen" / "DONE").read_text())
    assert gen_done["device"].startswith("cpu (") and manifest["training"]["device"] == gen_done["device"]
    with Image.open(run / "4-gan" / "metrics.png") as im:
        assert im.size[0] > 300


def test_chosen_checkpoint_is_the_inflection_point_and_its_chroma_gain_is_tuned(finished_run: Path) -> None:
    from colorize.train.gan import choose
    from colorize.train.recipe import CHROMA_GAINS

    rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(open(finished_run / "4-gan" / "metrics.csv"))]
    assert rows[0]["step"] == 0 and len(rows) >= 2
    best = choose(rows)
    done = json.loads((finished_run / "4-gan" / "DONE").read_text())
    assert done["chosen_step"] == int(best["step"])
    manifest = json.loads((finished_run / "final.json").read_text())
    assert manifest["training"]["chosen_gan_step"] == int(best["step"])
    assert manifest["quality"]["validation"]["score"] == pytest.approx(best["score"])
    chosen, _ = load_generator(finished_run / "4-gan" / "checkpoints" / f"step_{int(best['step']):06d}.pt")
    final, final_meta = load_generator(finished_run / "final.pt")
    for a, b in zip(chosen.state_dict().values(), final.state_dict().values()):
        assert torch.equal(a, b)
    # An RGB model's decoding knob is its chroma gain, chosen by the same rule and carried with the weights, once.
    scores = manifest["decoding_scores"]
    assert [s["chroma_gain"] for s in scores] == list(CHROMA_GAINS)
    gain = choose(scores, order="chroma_gain")["chroma_gain"]
    assert manifest["inference"]["chroma_gain"] == final_meta["inference"]["chroma_gain"] == gain
    assert final.cfg.chroma_gain == 1.0  # the architecture's config is left as trained


def test_final_model_renders_at_the_scale_it_was_scored_at(finished_run: Path) -> None:
    from colorize.inference import load_colorizer
    from colorize.pipeline import render_factor_for

    factor = render_factor_for(load_recipe(SMOKE).gan.size_px)
    _, meta = load_generator(finished_run / "final.pt")
    assert meta["inference"]["render_factor"] == json.loads((finished_run / "final.json").read_text())["inference"]["render_factor"] == factor
    assert load_colorizer(finished_run / "final.pt", device="cpu").render_factor == factor
    assert load_colorizer(finished_run / "final.pt", device="cpu", render_factor=factor + 5).render_factor == factor  # never above it


def test_final_model_colorizes_photos(finished_run: Path, photo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = runner.invoke(app, ["photos", str(photo_dir), "-o", str(out), "-w", str(finished_run / "final.pt"), "-r", "8"])
    assert "colorized 14" in r.stderr and "broken.jpg" in r.stderr


def test_rerun_skips_finished_stages(finished_run: Path, photo_dir: Path) -> None:
    stamps = {p: p.stat().st_mtime_ns for p in finished_run.glob("*/DONE")}
    r = runner.invoke(app, ["-v", "train", "all", "--data", str(photo_dir), "--run", str(finished_run),
                            "--recipe", str(SMOKE), "--arch", "tiny", "--device", "cpu"])
    assert r.exit_code == 0, r.stderr
    assert r.stderr.count("already done, skipping") == 4
    assert {p: p.stat().st_mtime_ns for p in finished_run.glob("*/DONE")} == stamps


def test_changed_config_is_refused_without_force(finished_run: Path, photo_dir: Path) -> None:
    r = runner.invoke(app, ["train", "all", "--data", str(photo_dir), "--run", str(finished_run), "--recipe", str(SMOKE),
                            "--arch", "tiny", "--set", "gan.lr_gen=1e-3", "--device", "cpu"])
    assert r.exit_code == 1 and "--force" in r.stderr and "4-gan" in r.stderr


def test_interrupted_stage_resumes_to_the_same_weights(photo_dir: Path, tmp_path: Path) -> None:
    cfg = load_recipe(SMOKE, {**TINY, "loss.perceptual": False})
    straight = StageContext(tmp_path / "a", photo_dir, device=torch.device("cpu"))
    pretrain_gen.run(cfg, straight)

    ctx = StageContext(tmp_path / "b", photo_dir, device=torch.device("cpu"))
    with at_step(10, interrupt), pytest.raises(KeyboardInterrupt):
        pretrain_gen.run(cfg, ctx)
    assert (tmp_path / "b" / "1-pretrain-gen" / "last.pt").is_file()
    assert not (tmp_path / "b" / "1-pretrain-gen" / "DONE").exists()
    pretrain_gen.run(cfg, ctx)  # resumes from step 8
    a, _ = load_generator(tmp_path / "a" / "1-pretrain-gen" / "gen.pt")
    b, _ = load_generator(tmp_path / "b" / "1-pretrain-gen" / "gen.pt")
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.allclose(x, y, atol=1e-6), k


def test_a_frozen_encoder_keeps_its_weights_and_with_freeze_encoder_bn_its_batchnorm_statistics(photo_dir: Path, tmp_path: Path) -> None:
    encoders = {}
    for keep_bn in (False, True):
        cfg = load_recipe(SMOKE, {**TINY, "loss.perceptual": False, "pretrain_gen.frozen_fraction": 1.0,
                                  "pretrain_gen.freeze_encoder_bn": keep_bn})
        gen = pretrain_gen.run(cfg, StageContext(tmp_path / str(keep_bn), photo_dir, device=torch.device("cpu")))
        encoders[keep_bn] = load_generator(gen)[0].encoder.state_dict()
    bn = [k for k in encoders[True] if k.endswith("running_mean")]
    assert bn
    for k, kept in encoders[True].items():
        if k.endswith(("running_mean", "running_var", "num_batches_tracked")):  # a fresh BatchNorm's, untouched
            assert torch.equal(kept, torch.full_like(kept, float(k.endswith("running_var")))), k
        else:  # the same weights with or without: the learning rate held the encoder at its initial weights
            assert torch.equal(kept, encoders[False][k]), k
    assert all(not torch.equal(encoders[False][k], encoders[True][k]) for k in bn)  # without, the statistics adapt


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_a_stage_after_its_step_with_that_steps_resume_point(photo_dir: Path, tmp_path: Path, signum: int) -> None:
    # Ctrl-C (or a polite kill) at step 10 of 16, checkpoints every 4: the stage finishes step 10, writes its resume
    # point there (not 8) and stops; the rerun ends with the weights of an uninterrupted run.
    cfg = load_recipe(SMOKE, {**TINY, "loss.perceptual": False, "data.num_workers": 1})
    pretrain_gen.run(cfg, StageContext(tmp_path / "a", photo_dir, device=torch.device("cpu")))
    ctx = StageContext(tmp_path / "b", photo_dir, device=torch.device("cpu"))
    before = signal.getsignal(signal.SIGINT)  # Python's default, or ignored where the tests run in the background
    with at_step(10, lambda: os.kill(os.getpid(), signum)), pytest.raises(KeyboardInterrupt):
        pretrain_gen.run(cfg, ctx)
    assert torch.load(tmp_path / "b" / "1-pretrain-gen" / "last.pt", weights_only=True)["step"] == 10
    assert signal.getsignal(signal.SIGINT) is before  # the stage's handlers are gone again
    pretrain_gen.run(cfg, ctx)
    a, _ = load_generator(tmp_path / "a" / "1-pretrain-gen" / "gen.pt")
    b, _ = load_generator(tmp_path / "b" / "1-pretrain-gen" / "gen.pt")
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.allclose(x, y, atol=1e-6), k


def test_a_second_signal_stops_at_once(tmp_path: Path) -> None:
    with StopRequest(StageContext(tmp_path, tmp_path)) as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested and stop.checkpoint_due(3, every=100, total=50)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)


def test_critic_separates_a_trivially_separable_pair(photo_dir: Path, tmp_path: Path) -> None:
    """Real: colourful photos. Fake: their gray versions. The critic should tell them apart well above chance."""
    fakes = tmp_path / "cache" / "images"
    fakes.mkdir(parents=True)
    for i, p in enumerate(sorted(photo_dir.glob("p*"))):
        Image.open(p).convert("L").convert("RGB").save(fakes / f"{i:06d}.png")
    cfg = merge(RecipeConfig(), {"critic.base_channels": 16, "critic.n_blocks": 2, "pretrain_critic.steps": 30,
                                 "pretrain_critic.batch_size": 8, "pretrain_critic.size_px": 48, "pretrain_critic.lr": 1e-3})
    ctx = StageContext(tmp_path, photo_dir, device=torch.device("cpu"))
    pretrain_critic.run(cfg, ctx, fakes, "3-pretrain-critic")
    rows = list(csv.DictReader(open(tmp_path / "3-pretrain-critic" / "train_log.csv")))
    last = np.mean([float(r["accuracy"]) for r in rows[-5:]])
    assert last > 0.85, last


def test_crappify_is_deterministic_under_a_seed() -> None:
    img = scene(3)
    cfg = DataConfig()
    a = crappify(img, cfg, np.random.default_rng(7))
    b = crappify(img, cfg, np.random.default_rng(7))
    c = crappify(img, cfg, np.random.default_rng(8))
    assert a.shape == img.shape[:2] and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_split_is_deterministic_and_disjoint(photo_dir: Path) -> None:
    paths = list_photos(photo_dir)
    train, val = split_photos(paths, photo_dir, 0.2)
    assert val and not set(train) & set(val) and sorted(train + val) == paths
    assert split_photos(list(reversed(paths)), photo_dir, 0.2) == (train, val)
    # adding photos never moves an existing one across the split
    train2, val2 = split_photos(paths + [photo_dir / "zz_new.png"], photo_dir, 0.2)
    assert set(val) <= set(val2) | {photo_dir / "zz_new.png"} and set(train) <= set(train2)


def test_an_interrupted_cache_stage_writes_only_the_missing_images(finished_run: Path, photo_dir: Path, tmp_path: Path) -> None:
    import shutil

    from colorize.train import cache

    run = tmp_path / "run"
    shutil.copytree(finished_run / "1-pretrain-gen", run / "1-pretrain-gen")
    shutil.copytree(finished_run / "2-cache", run / "2-cache")
    images = run / "2-cache" / "images"
    (run / "2-cache" / "DONE").unlink()  # as a crash leaves it: some images written, no marker
    for p in sorted(images.iterdir())[::3]:
        p.unlink()
    kept = {p.name: p.stat().st_mtime_ns for p in images.iterdir()}
    cfg = load_recipe(SMOKE, TINY)
    cache.run(cfg, StageContext(run, photo_dir, device=torch.device("cpu")), run / "1-pretrain-gen" / "gen.pt", "2-cache")
    assert sorted(p.name for p in images.iterdir()) == sorted(p.name for p in (finished_run / "2-cache" / "images").iterdir())
    assert all(images.joinpath(n).stat().st_mtime_ns == t for n, t in kept.items())
    # Batched or one by one, an image is the same function of its id.
    for p in images.iterdir():
        a = np.asarray(Image.open(p), np.int16)
        b = np.asarray(Image.open(finished_run / "2-cache" / "images" / p.name), np.int16)
        assert np.abs(a - b).max() <= 1


def test_recipe_config_errors_list_valid_keys(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[gan]\nmax_stepz = 3\n")
    with pytest.raises(ConfigError, match="gan.max_stepz.*valid keys: max_steps"):
        load_recipe(bad)
    with pytest.raises(ConfigError, match="expected int"):
        load_recipe(SMOKE, {"gan.max_steps": "many"})
    with pytest.raises(ConfigError, match="unknown config key"):
        load_recipe(SMOKE, {"gan.nope": 1})
    assert load_recipe(SMOKE, {"gan.max_steps": 5}).gan.max_steps == 5


def test_eval_reports_model_and_gray_baseline(finished_run: Path, photo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    r = runner.invoke(app, ["eval", "--data", str(photo_dir), "-w", str(finished_run / "final.pt"), "-r", "8", "--json", str(out)])
    assert r.exit_code == 0, r.stderr
    res = json.loads(out.read_text())
    assert res["gray"]["colorfulness"] == pytest.approx(0, abs=1e-6)
    assert res["n_photos"]["count"] == 14 and res["model"]["psnr"] > 0
    assert "model" in r.stdout and "gray" in r.stdout


def test_interrupted_gan_stage_resumes_and_keeps_its_metric_history(finished_run: Path, photo_dir: Path, tmp_path: Path) -> None:
    import shutil

    from colorize.train import gan

    run = tmp_path / "run"
    for stage in ("1-pretrain-gen", "2-cache", "3-pretrain-critic"):
        shutil.copytree(finished_run / stage, run / stage)
    cfg = load_recipe(SMOKE, {**TINY, "gan.patience_evals": 10, "gan.loss": "hinge", "gan.r1_gamma": 1.0, "gan.diffaugment": True})
    ctx = StageContext(run, photo_dir, device=torch.device("cpu"))
    with at_step(7, interrupt), pytest.raises(KeyboardInterrupt):
        gan.run(cfg, ctx, run / "1-pretrain-gen" / "gen.pt", run / "3-pretrain-critic" / "crit.pt", "4-gan")
    steps_before = [int(r["step"]) for r in csv.DictReader(open(run / "4-gan" / "metrics.csv"))]
    assert steps_before == [0, 3, 6]
    other = merge(cfg, {"gan.loss": "bce"})
    with pytest.raises(ConfigError, match="interrupted with gan.loss = 'hinge'"):
        gan.run(other, ctx, run / "1-pretrain-gen" / "gen.pt", run / "3-pretrain-critic" / "crit.pt", "4-gan")
    gan.run(cfg, ctx, run / "1-pretrain-gen" / "gen.pt", run / "3-pretrain-critic" / "crit.pt", "4-gan")
    rows = list(csv.DictReader(open(run / "4-gan" / "metrics.csv")))
    assert [int(r["step"]) for r in rows] == [0, 3, 6, 9, 12]
    done = json.loads((run / "4-gan" / "DONE").read_text())
    assert done["steps_run"] == 12 and done["loss"] == "hinge"
    # The training dynamics are logged per checkpoint, after step 0 which has none yet.
    for r in rows[1:]:
        assert 0 <= float(r["acc_real"]) <= 1 and 0 <= float(r["acc_fake"]) <= 1 and float(r["adv_grad_norm"]) > 0
        assert float(r["ab_diversity"]) >= 0


# Scores every 3 steps. Patience 10: a signal at step 7 finishes that step, writes its resume point there (not at
# the score at 6) and stops. Patience 1: the run stops for good at the score at step 3, so a signal there leaves
# a rerun nothing to train.
@pytest.mark.parametrize("patience, stop_at, scored", [(10, 7, [0, 3, 6, 9, 12]), (1, 3, [0, 3])])
def test_a_signal_stops_the_gan_stage_after_its_step_and_the_rerun_matches_a_straight_run(
        finished_run: Path, photo_dir: Path, tmp_path: Path, patience: int, stop_at: int, scored: list[int]) -> None:
    import shutil

    from colorize.train import gan

    cfg = load_recipe(SMOKE, {**TINY, "gan.patience_evals": patience, "gan.diffaugment": True})
    runs = {}
    for name in ("straight", "stopped"):
        runs[name] = tmp_path / name
        for stage in ("1-pretrain-gen", "2-cache", "3-pretrain-critic"):
            shutil.copytree(finished_run / stage, runs[name] / stage)

    def run_gan(name: str) -> None:
        run = runs[name]
        gan.run(cfg, StageContext(run, photo_dir, device=torch.device("cpu")), run / "1-pretrain-gen" / "gen.pt",
                run / "3-pretrain-critic" / "crit.pt", "4-gan")

    run_gan("straight")
    before = signal.getsignal(signal.SIGINT)
    with at_step(stop_at, lambda: os.kill(os.getpid(), signal.SIGINT)), pytest.raises(KeyboardInterrupt):
        run_gan("stopped")
    assert torch.load(runs["stopped"] / "4-gan" / "last.pt", weights_only=True)["gan_state"]["step"] == stop_at
    assert signal.getsignal(signal.SIGINT) is before
    run_gan("stopped")
    rows = {name: list(csv.DictReader(open(run / "4-gan" / "metrics.csv"))) for name, run in runs.items()}
    assert [int(r["step"]) for r in rows["stopped"]] == scored and rows["stopped"] == rows["straight"]
    assert json.loads((runs["stopped"] / "4-gan" / "DONE").read_text())["steps_run"] == scored[-1]
    crits = {name: read_checkpoint(run / "4-gan" / "crit.pt", kind="critic")["state_dict"] for name, run in runs.items()}
    for k, x in crits["straight"].items():
        assert torch.allclose(x, crits["stopped"][k], atol=1e-6), k


@pytest.mark.parametrize("loss", ["bce", "minimax", "hinge", "wgan", "wgan-gp", "rals", "began"])
def test_every_adversarial_loss_trains_through_the_cli(finished_run: Path, photo_dir: Path, tmp_path: Path, loss: str) -> None:
    import shutil

    run = tmp_path / "run"
    for stage in ("1-pretrain-gen", "2-cache", "3-pretrain-critic"):
        shutil.copytree(finished_run / stage, run / stage)
    r = runner.invoke(app, ["train", "gan", "--data", str(photo_dir), "--run", str(run), "--recipe", str(SMOKE), "--arch", "tiny",
                            "--device", "cpu", "--set", f"gan.loss={loss}", "--set", "gan.max_steps=2", "--set", "gan.eval_every_steps=1"])
    assert r.exit_code == 0, r.stderr
    log = list(csv.DictReader(open(run / "4-gan" / "train_log.csv")))
    assert len(log) == 2 and all(np.isfinite(float(x["gen"])) and np.isfinite(float(x["crit"])) for x in log)
    if loss.startswith("wgan"):  # a fixed number of critic steps, whatever its accuracy
        assert all(int(float(x["crit_iters"])) == 5 for x in log)
    if loss == "wgan":  # clipped as published: the critic computes with the clipped weights, no spectral norm rescales them
        crit = read_checkpoint(run / "4-gan" / "crit.pt", kind="critic")["state_dict"]
        assert not any(k.endswith("weight_orig") for k in crit)
        assert max(float(x.abs().max()) for x in crit.values() if x.is_floating_point()) <= 0.01
    if loss == "began":  # its controller and convergence measure are logged, and M is in the scores
        assert all(0 <= float(x["began_k"]) <= 1 and float(x["began_M"]) > 0 for x in log)
        scored = list(csv.DictReader(open(run / "4-gan" / "metrics.csv")))
        assert all(np.isfinite(float(row["began_M"])) for row in scored[1:])  # step 0 precedes any GAN step


def test_inflection_point_never_takes_color_worse_than_gray() -> None:
    from colorize.train.gan import choose

    def row(step: int, ab: float, gap: float) -> dict[str, float]:
        return {"step": step, "ab_mae": ab, "ab_mae_gray": 10.0, "colorfulness_gap": gap, "score": ab + gap}

    # Step 20 has the lowest score, but only because its (wrong) colours are loud: it is worse than gray.
    assert choose([row(0, 9.5, 30.0), row(10, 9.8, 25.0), row(20, 12.0, 10.0)])["step"] == 10
    assert choose([row(0, 11.0, 30.0), row(10, 10.5, 35.0), row(20, 12.0, 10.0)])["step"] == 10
    # Accuracy first: step 20 beats gray and has the lowest score, but gives up 10% of step 0's ab error.
    assert choose([row(0, 9.0, 30.0), row(10, 9.3, 20.0), row(20, 9.9, 5.0)])["step"] == 10


def test_metrics_behave() -> None:
    from colorize.metrics import evaluate, psnr

    real = scene(1)
    gray = np.repeat(np.asarray(Image.fromarray(real).convert("L"))[..., None], 3, -1)
    assert psnr(real, real) == pytest.approx(58.92, abs=0.01)  # capped, not infinite
    m = evaluate([gray], [real])
    assert m["colorfulness"] < 1 and m["colorfulness_gap"] > 10 and m["ab_mae"] > 1
    assert m["ab_mae_gray"] == pytest.approx(m["ab_mae"], abs=0.05)
    assert evaluate([real], [real])["score"] == pytest.approx(0, abs=1e-6)


@pytest.mark.slow
def test_smoke_recipe_with_the_real_encoder(photo_dir: Path, tmp_path: Path) -> None:
    """recipes/smoke.toml as shipped: EfficientNet-Lite0 with its ImageNet weights, the real perceptual loss."""
    r = runner.invoke(app, ["train", "all", "--data", str(photo_dir), "--run", str(tmp_path), "--recipe", str(SMOKE), "--device", "cpu"])
    assert r.exit_code == 0, r.stderr
    manifest = json.loads((tmp_path / "final.json").read_text())
    assert manifest["model_config"]["arch"] == "efficientnet_lite0"
    model, _ = load_generator(tmp_path / "final.pt")
    assert sum(p.numel() for p in model.parameters()) > 5e6


def test_ab_bin_recipe_trains_end_to_end_and_tunes_its_temperature(photo_dir: Path, tmp_path: Path) -> None:
    from colorize.train import gan
    from colorize.train.recipe import TEMPERATURES

    run = tmp_path / "bins"
    r = runner.invoke(app, ["train", "all", "--data", str(photo_dir), "--run", str(run), "--recipe", str(SMOKE), "--arch", "tiny",
                            "--device", "cpu", "--set", 'model.head="ab_bins"', "--set", "loss.classification_weight=1.0",
                            "--set", "loss.colorfulness_weight=0.5", "--set", "gan.max_steps=3"])
    assert r.exit_code == 0, r.stderr
    manifest = json.loads((run / "final.json").read_text())
    scores = manifest["decoding_scores"]
    assert [s["temperature"] for s in scores] == list(TEMPERATURES)
    assert len({s["colorfulness"] for s in scores}) == len(TEMPERATURES)  # each temperature really decoded differently
    chosen = gan.choose(scores, order="temperature")["temperature"]
    model, meta = load_generator(run / "final.pt")
    assert manifest["inference"]["temperature"] == meta["inference"]["temperature"] == chosen
    assert "ab-bin cross-entropy" in manifest["training"]["loss"]
    prior = torch.load(run / "1-pretrain-gen" / "gen.pt", weights_only=True)["ab_prior"]
    assert prior.ndim == 1 and abs(float(prior.sum()) - 1) < 1e-4


def test_every_stage_writes_tensorboard_scalars_and_the_gan_its_validation_sheets(finished_run: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    def board(stage: str) -> EventAccumulator:
        acc = EventAccumulator(str(finished_run / stage / "tensorboard"), size_guidance={"images": 0})
        acc.Reload()
        return acc

    assert {"train/loss", "train/lr"} <= set(board("1-pretrain-gen").Tags()["scalars"])
    assert {"train/crit", "train/accuracy"} <= set(board("3-pretrain-critic").Tags()["scalars"])
    gan = board("4-gan")
    tags = set(gan.Tags()["scalars"])
    assert {"train/gen", "train/adv", "train/acc_real", "train/acc_fake", "train/adv_grad_norm",
            "validation/ab_mae", "validation/colorfulness", "validation/ab_diversity", "validation/green_recall"} <= tags
    sheets = gan.Images("validation/sheet")
    assert len(sheets) == len(gan.Scalars("validation/ab_mae")) >= 2 and sheets[0].width > 0


def test_sigterm_during_training_exits_143(tmp_path: Path) -> None:
    data = color_folder(tmp_path / "data", 6)
    args = ["train", "pretrain-gen", "--data", data, "--run", tmp_path / "run", "--recipe", SMOKE, "--arch", "tiny",
            "--set", "loss.perceptual=false"]
    with at_step(2, lambda: os.kill(os.getpid(), signal.SIGTERM)):
        r = invoke(*args)
    assert r.exit_code == 143 and "interrupted" in r.stderr
