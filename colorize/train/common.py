"""What every NoGAN stage shares: its run folder, skip/resume rules, data-parallel setup and step logging.

Stages talk only through files: each has a numbered folder in the run directory holding its `config.toml`,
`last.pt` (resume point), metrics and outputs, and a `DONE` marker written last that records the hash of
everything the stage depends on (its config, the data folder and its upstream stage's hash).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import shutil
import signal
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ContextManager, Iterator

import torch
import torch.distributed as dist
from torch import nn

from colorize.atomic import atomic_write
from colorize.config import PRECISIONS, RecipeConfig, TrainConfig, dump_toml, to_dict
from colorize.errors import ColorizeError, ConfigError, Interrupted
from colorize.inference import describe_device
from colorize.weights import save_checkpoint, unwrap

log = logging.getLogger(__name__)


@dataclass
class StageContext:
    """Where a run lives and how this process takes part in it."""

    run_dir: Path
    data_dir: Path
    force: bool = False
    device: torch.device = field(default_factory=lambda: torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    rank: int = 0
    world: int = 1
    started: dict[str, float] = field(default_factory=dict)

    @property
    def is_main(self) -> bool:
        """Only rank 0 writes files."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every rank (no-op when not distributed)."""
        if self.world > 1:
            dist.barrier()


def init_distributed(run_dir: Path, data_dir: Path, force: bool, device: str) -> StageContext:
    """Context for this process; under `torchrun` (WORLD_SIZE > 1) joins the process group (nccl on GPUs, else gloo)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if device == "auto":
        dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        dev = torch.device(device)
    if world > 1:
        if dev.type == "cuda":
            dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(dev)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return StageContext(Path(run_dir), Path(data_dir), force, dev, rank, world)




def cpu_has_native_bf16() -> bool:
    """True where the CPU has bf16 arithmetic (AVX512-BF16 or AMX): elsewhere bf16 autocast is emulated and slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    """The autocast dtype for `train.precision` on `device` (float32 means no autocast)."""
    if precision not in PRECISIONS:
        raise ConfigError(f"train.precision = {precision!r}; choose one of: {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return torch.float32
    if device.type == "cuda":
        if precision == "auto":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if precision == "bf16" else torch.float16
    if precision == "fp16":
        raise ConfigError("train.precision = 'fp16' needs a CUDA device; on CPU use bf16 or auto")
    if precision == "bf16" or cpu_has_native_bf16():
        return torch.bfloat16
    return torch.float32


@dataclass(frozen=True)
class Numerics:
    """How a stage computes: autocast dtype, memory layout and (for fp16) the gradient scaler's switch."""

    device: torch.device
    dtype: torch.dtype
    channels_last: bool

    @classmethod
    def for_stage(cls, cfg: TrainConfig, device: torch.device) -> "Numerics":
        """Resolve `cfg` on `device` and log the choice."""
        dtype = resolve_precision(cfg.precision, device)
        n = cls(device, dtype, cfg.channels_last)
        log.info("numerics: %s autocast (train.precision = %s), %s", str(dtype).removeprefix("torch."),
                 cfg.precision, "channels_last" if cfg.channels_last else "contiguous")
        return n

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def autocast(self) -> ContextManager[Any]:
        """Autocast for forward passes; a no-op in fp32."""
        if self.dtype == torch.float32:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def scaler(self) -> torch.amp.GradScaler:
        """Loss scaling, enabled only for fp16 (bf16 has fp32's range)."""
        return torch.amp.GradScaler(self.device.type, enabled=self.dtype == torch.float16)

    def model(self, model: nn.Module) -> nn.Module:
        """Move `model` to the device in this memory layout (weights stay fp32)."""
        return model.to(self.device, memory_format=self.memory_format)

    def batch(self, x: torch.Tensor) -> torch.Tensor:
        """Move a (B, C, H, W) batch to the device in this memory layout."""
        return x.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)


def optimizer_step(loss: torch.Tensor, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler) -> None:
    """Backward and one optimiser step, through the (possibly disabled) fp16 gradient scaler."""
    opt.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()


def wrap_ddp(model: nn.Module, ctx: StageContext) -> nn.Module:
    """DistributedDataParallel when running on several ranks, the model itself otherwise."""
    if ctx.world == 1:
        return model
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def all_mean(value: float, ctx: StageContext) -> float:
    """Mean of a scalar over ranks, so decisions that branch on it agree everywhere."""
    if ctx.world == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=ctx.device if ctx.device.type == "cuda" else "cpu")
    dist.all_reduce(t)
    return float(t.item()) / ctx.world


def weights_digest(model: nn.Module) -> str:
    """sha256 over a model's parameters and buffers: equal digests on all ranks prove they hold identical weights."""
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def gather_digests(model: nn.Module, ctx: StageContext) -> list[str]:
    """Every rank's `weights_digest`, in rank order, after making buffers agree.

    DDP keeps parameters in sync, but buffers (BatchNorm statistics, spectral norm's power-iteration vectors) are
    updated by each rank's own last forward pass; rank 0's are the ones saved, so every rank takes them.
    """
    if ctx.world == 1:
        return [weights_digest(model)]
    for buf in model.buffers():
        dist.broadcast(buf.data, src=0)
    digest = weights_digest(model)
    out: list[Any] = [None] * ctx.world
    dist.all_gather_object(out, digest)
    return out


def stage_hash(*parts: Any) -> str:
    """Stable hash of configs (dataclasses), paths and upstream hashes."""
    norm = [to_dict(p) if hasattr(p, "__dataclass_fields__") else str(p) for p in parts]
    return hashlib.sha256(json.dumps(norm, sort_keys=True).encode()).hexdigest()[:16]


def done_hash(stage_dir: Path) -> str | None:
    """The hash recorded in a finished stage's DONE marker."""
    marker = stage_dir / "DONE"
    return json.loads(marker.read_text())["hash"] if marker.is_file() else None


def begin_stage(stage_dir: Path, digest: str, cfg: RecipeConfig, ctx: StageContext) -> bool:
    """True if the stage must run. Finished with the same hash: skip. Different hash: refuse unless --force,
    which clears the folder. Unfinished: keep `last.pt` to resume from."""
    previous = done_hash(stage_dir)
    if previous == digest:
        log.info("%s: already done, skipping", stage_dir.name)
        return False
    if previous is not None:
        if not ctx.force:
            raise ColorizeError(
                f"{stage_dir}: finished with a different config or data; rerun with --force to redo it and the stages after it"
            )
        ctx.barrier()
        if ctx.is_main:
            shutil.rmtree(stage_dir)
    ctx.barrier()
    ctx.started[stage_dir.name] = time.perf_counter()
    if ctx.is_main:
        stage_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(stage_dir / "config.toml", lambda tmp: tmp.write_text(dump_toml(cfg)))
    ctx.barrier()
    return True


def finish_stage(stage_dir: Path, digest: str, ctx: StageContext, **summary: Any) -> None:
    """Write the DONE marker (last, so a crash before it means 'resume'); drop the resume checkpoint."""
    if ctx.is_main:
        seconds = round(time.perf_counter() - ctx.started.get(stage_dir.name, time.perf_counter()), 1)
        # The device is recorded now, not at export: re-exporting a finished run elsewhere must not rewrite it.
        payload = {"hash": digest, "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "seconds": seconds,
                   "device": describe_device(ctx.device), **summary}
        atomic_write(stage_dir / "DONE", lambda tmp: tmp.write_text(json.dumps(payload, indent=2) + "\n"))
        (stage_dir / "last.pt").unlink(missing_ok=True)
    ctx.barrier()


class TrainState:
    """A stage's resume point, `last.pt`: its model (saved as a checkpoint that loads on its own), the other stateful
    objects by name (optimisers, schedulers, scalers, a second network), plain values and the RNG state. Rank 0
    writes it (ranks hold the same weights); every rank resumes from it, so the run folder must be shared storage."""

    def __init__(self, path: Path, model: torch.nn.Module, kind: str, model_cfg: Any, ctx: StageContext, **parts: Any) -> None:
        self.path, self.model, self.kind, self.model_cfg, self.ctx, self.parts = path, model, kind, model_cfg, ctx, parts

    def save(self, **values: Any) -> None:
        if not self.ctx.is_main:
            return
        states = {name: unwrap(part).state_dict() for name, part in self.parts.items()}
        save_checkpoint(self.path, self.model, self.kind, self.model_cfg, rng=torch.get_rng_state(), **states, **values)

    def restore(self) -> dict[str, Any] | None:
        """Load the resume point, if an earlier attempt left one, into the objects; returns it for its plain values."""
        if not self.path.is_file():
            return None
        log.info("%s: resuming from %s", self.path.parent.name, self.path)
        ckpt = torch.load(self.path, map_location="cpu", weights_only=True)
        unwrap(self.model).load_state_dict(ckpt["state_dict"])
        for name, part in self.parts.items():
            unwrap(part).load_state_dict(ckpt[name])
        torch.set_rng_state(ckpt["rng"])
        return ckpt


class StopRequest:
    """Within `with StopRequest(ctx) as stop:`, Ctrl-C or SIGTERM asks the step loop to stop rather than killing it
    mid-step: the loop writes its resume point for the step it just finished (`checkpoint_due`) and then stops
    (`honour`), so an interrupted run loses no finished step instead of everything since its last checkpoint. A
    second signal stops at once. Outside the main thread (where Python cannot take signals) it never triggers."""

    _SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, ctx: StageContext) -> None:
        self.ctx, self.requested, self._previous = ctx, False, {}
        self.signum = signal.SIGINT

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in self._SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise Interrupted(signum)
        self.requested, self.signum = True, signum
        log.warning("stopping after this step, with its resume point written (signal again to stop at once)")

    def checkpoint_due(self, step_done: int, every: int, total: int) -> bool:
        """Whether this process writes the resume point after `step_done` of `total` steps: every `every` steps
        before the last, and whenever asked to stop (after the last step too: the rerun then only finishes the
        stage). Every rank follows rank 0's request, so all stop after the same step."""
        self.requested = broadcast_flag(self.requested, self.ctx)
        return self.ctx.is_main and (self.requested or (step_done % every == 0 and step_done < total))

    def honour(self) -> None:
        """Stop (KeyboardInterrupt, which the CLI reports) if asked to; call after the step's resume point."""
        if self.requested:
            raise Interrupted(self.signum)


class StepLog:
    """One fixed-format log line every N steps; every step's values also go to a CSV in the stage folder and, as
    scalars, to TensorBoard event files in its `tensorboard/` folder (`tensorboard --logdir runs/`)."""

    def __init__(self, path: Path, every: int, ctx: StageContext) -> None:
        self.path, self.every, self.ctx = path, every, ctx
        self.t0 = time.perf_counter()
        self.last_step: int | None = None
        self._board: Any = None

    @property
    def board(self) -> Any:
        """The stage's TensorBoard writer (main process only), opened on first use."""
        if self._board is None:
            from torch.utils.tensorboard import SummaryWriter

            self._board = SummaryWriter(log_dir=str(self.path.parent / "tensorboard"))
        return self._board

    def __call__(self, step: int, **values: float) -> None:
        now = time.perf_counter()
        ms = 1000 * (now - self.t0)
        self.t0 = now
        if not self.ctx.is_main:
            return
        row = {"step": step, **{k: round(float(v), 6) for k, v in values.items()}, "ms_per_step": round(ms, 1)}
        new = not self.path.exists()
        with open(self.path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(row))
            if new:
                w.writeheader()
            w.writerow(row)
        for k, v in row.items():
            if k != "step":
                self.board.add_scalar(f"train/{k}", v, step)
        if step % self.every == 0:
            parts = " | ".join(f"{k} {v:.4g}" for k, v in values.items())
            log.info("step %d | %s | %.0f ms/it", step, parts, ms)
            self.board.flush()

    def scores(self, step: int, metrics: dict[str, float], sheet: Any = None) -> None:
        """Validation metrics (and a contact sheet, (H, W, 3) uint8) at `step`, for TensorBoard."""
        if not self.ctx.is_main:
            return
        for k, v in metrics.items():
            self.board.add_scalar(f"validation/{k}", float(v), step)
        if sheet is not None:
            self.board.add_image("validation/sheet", sheet, step, dataformats="HWC")
        self.board.flush()


@contextmanager
def eval_mode(*models: nn.Module) -> Iterator[None]:
    """Put models in eval mode for a block and restore their previous modes."""
    modes = [m.training for m in models]
    for m in models:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(models, modes):
            m.train(mode)


def broadcast_flag(flag: bool, ctx: StageContext) -> bool:
    """Rank 0's decision, on every rank."""
    if ctx.world == 1:
        return flag
    box = [flag]
    dist.broadcast_object_list(box, src=0)
    return bool(box[0])
