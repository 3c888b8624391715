"""The training loop's state, kept in one object so that a checkpoint saves all of it.

`Loop` holds what carries over from one step to the next: the model and its optimiser,
schedule and warm-up; the position in the data and its shuffle order; the running sums since
the last curve point; the random streams; the curve and diagnostics recorded so far.
`state_dict` saves it whole and `load_state_dict` puts it back, so a resumed run computes what
an uninterrupted one does. On a GPU nothing here waits for the host between curve points:
indices, random draws and running sums all live on the device.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from resbench.train import diagnostics
from resbench.train.precision import autocast
from resbench.train.run_result import CurvePoint, LayerPoint, finite

if TYPE_CHECKING:
    from torch import nn

    from resbench.data import Data
    from resbench.sweep.schema import RunSpec
    from resbench.train.recipe import ErrorGatedWarmup

EVAL_BATCH = 2048
AUGMENT_SEED = 1_000_003  # added to the run's seed: augmentation draws its own random stream


class Loop:
    """One run's training state between steps; see the module docstring."""

    def __init__(
        self,
        spec: RunSpec,
        data: Data,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        warmup: ErrorGatedWarmup,
        device: torch.device,
    ) -> None:
        self.data, self.model, self.device = data, model, device
        self.optimizer, self.scheduler, self.warmup = optimizer, scheduler, warmup
        self.seed, self.batch_size = spec.seed, spec.train.batch_size
        self.probes = spec.train.probes
        self.n = len(data.x_train)
        self.steps_per_epoch = math.ceil(self.n / self.batch_size)
        # Shuffles come from their own generator, on the CPU, so they are the same on every
        # device; augmentation draws on the device (reproducible per device type).
        self.shuffle = torch.Generator().manual_seed(spec.seed)
        self.augment = torch.Generator(device).manual_seed(spec.seed + AUGMENT_SEED)
        self.step = 0
        self.examples = 0  # trained on so far, for the speed figures
        self.train_seconds = 0.0  # spent in the loop so far, by this process and any before
        self.startup: tuple[float, int] | None = None  # (train_seconds, examples) at 1st point
        self.resumed_from_device: str | None = None  # a checkpoint's device, when another
        self.order = torch.empty(0, dtype=torch.long)
        # Running figures since the last curve point; the sums stay on the device.
        self.seen = 0
        self.loss_sum = torch.zeros((), device=device)
        self.wrong_sum = torch.zeros((), device=device, dtype=torch.long)
        self.curve: list[CurvePoint] = []
        self.layers: list[LayerPoint] = []
        self.eval_batch = EVAL_BATCH  # halved for good when an evaluation runs out of memory

    @property
    def last_loss(self) -> float | None:
        """The running training loss at the last curve point, already on the host."""
        return self.curve[-1].train_loss if self.curve else None

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next minibatch: a new shuffle each epoch, stored examples -> normalised inputs ->
        random crops and flips (if the dataset augments)."""
        k = self.step % self.steps_per_epoch
        if k == 0:
            self.order = torch.randperm(self.n, generator=self.shuffle).to(self.device)
        idx = self.order[k * self.batch_size : (k + 1) * self.batch_size]
        ds = self.data
        return ds.augment(ds.inputs(ds.x_train[idx]), self.augment), ds.y_train[idx]

    def count(self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        """Add a trained minibatch to the running figures and take the step.

        Figures are per prediction: per example, or per token where every position of a
        sequence predicts its next token (y shaped (n, length)).
        """
        # float(): bf16 logits tie where float32 ones differ, which would count as mistakes
        wrong = (logits.detach().float().argmax(1) != y).sum()
        self.loss_sum += loss.detach() * y.numel()
        self.wrong_sum += wrong
        self.seen += y.numel()
        self.examples += len(y)
        self.step += 1
        self.warmup.update(self.step, wrong, y.numel())  # holds lr at warmup_lr while it lasts

    def point(self, net: nn.Module, precision: str) -> CurvePoint:
        """Close the running figures into a curve point, with the test set measured now."""
        train_loss = (self.loss_sum / self.seen).item()  # the one sync per curve point
        test_loss, test_error = self.evaluate(net, "test", precision)
        point = CurvePoint(
            step=self.step,
            epoch=self.step / self.steps_per_epoch,
            lr=self.optimizer.param_groups[0]["lr"],
            train_loss=finite(train_loss),
            train_error=self.wrong_sum.item() / self.seen,
            test_loss=finite(test_loss),
            test_error=test_error,
        )
        self.curve.append(point)
        self.loss_sum.zero_()
        self.wrong_sum.zero_()
        self.seen = 0
        return point

    def evaluate(self, net: nn.Module, split: str, precision: str) -> tuple[float, float]:
        """(mean loss, error) of `net` on the whole `split` (train or test), as it is stored.

        An evaluation batch may need more memory than a training step (it is larger): on a GPU
        that runs out, the batch is halved, for this evaluation and every later one.
        """
        ds = self.data
        x, y = (ds.x_train, ds.y_train) if split == "train" else (ds.x_test, ds.y_test)
        while True:
            try:
                return evaluate(net, x, y, ds.inputs, precision, self.eval_batch)
            except torch.cuda.OutOfMemoryError:
                if self.eval_batch <= self.batch_size:
                    raise  # no smaller than a training batch: the run itself does not fit
                torch.cuda.empty_cache()
                self.eval_batch = max(self.batch_size, self.eval_batch // 2)

    def started(self, seconds: float) -> None:
        """The first curve point is done, `seconds` into the loop: the steady state begins."""
        if self.startup is None:
            self.startup = (seconds, self.examples)

    def speed(self) -> tuple[float | None, float | None]:
        """(startup_seconds, samples_per_s): the steady state's examples a second, after the
        first curve point; the whole loop's when there is nothing after it."""
        whole = self.examples / self.train_seconds if self.train_seconds > 0 else None
        if self.startup is None:
            return None, whole
        seconds, examples = self.startup
        if self.examples > examples and self.train_seconds > seconds:
            return seconds, (self.examples - examples) / (self.train_seconds - seconds)
        return seconds, whole

    def measure(self, kinds: tuple[str, ...]) -> None:
        """Record `train.diagnostics` now, on the first batch_size training examples."""
        if not kinds:
            return
        x, y = self.probe
        self.layers += diagnostics.measure(
            self.model,  # type: ignore[arg-type]
            x,
            y,
            kinds,
            self.step,
            self.probes,
            self.seed,
        )

    def measure_trained(self, kinds: tuple[str, ...]) -> list[LayerPoint]:
        """The diagnostics of the trained net (lesions, loss slices), measured once, at the end."""
        if not any(k in kinds for k in diagnostics.AFTER_TRAINING):
            return []
        return diagnostics.after_training(
            self.model,  # type: ignore[arg-type]
            self.data,
            kinds,
            self.step,
            self.probes,
            self.seed,
        )

    @functools.cached_property
    def probe(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The diagnostics' fixed batch: the first batch_size training examples, as inputs."""
        ds, size = self.data, self.batch_size
        return ds.inputs(ds.x_train[:size]), ds.y_train[:size]

    def state_dict(self) -> dict[str, Any]:
        """Everything above, as tensors, numbers and lists (loadable with weights_only)."""
        cuda = self.device.type == "cuda"
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "warmup": self.warmup.state_dict(),
            "shuffle": self.shuffle.get_state(),
            "augment": self.augment.get_state(),
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(self.device) if cuda else None,
            "device": self.device.type,
            "step": self.step,
            "examples": self.examples,
            "train_seconds": self.train_seconds,
            "startup": list(self.startup) if self.startup else None,
            "order": self.order.cpu(),
            "seen": self.seen,
            "loss_sum": self.loss_sum.cpu(),
            "wrong_sum": self.wrong_sum.cpu(),
            "curve": [p.model_dump() for p in self.curve],
            "layers": [p.model_dump() for p in self.layers],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.warmup.load_state_dict(state["warmup"])
        self.shuffle.set_state(state["shuffle"])
        torch.set_rng_state(state["rng"])
        self.step, self.examples = state["step"], state["examples"]
        self.train_seconds = state["train_seconds"]
        self.startup = tuple(state["startup"]) if state["startup"] else None  # type: ignore[assignment]
        if state["device"] == self.device.type:
            self.augment.set_state(state["augment"])
            if self.device.type == "cuda" and state["cuda_rng"] is not None:
                torch.cuda.set_rng_state(state["cuda_rng"], self.device)
        else:
            # A device's random state means nothing to another type of device: augmentation
            # goes on from a stream of its own, seeded by the step, and the record says so.
            self.augment.manual_seed(self.seed + AUGMENT_SEED + self.step)
            self.resumed_from_device = state["device"]
        self.order = state["order"].to(self.device)
        self.seen = state["seen"]
        self.loss_sum.copy_(state["loss_sum"])
        self.wrong_sum.copy_(state["wrong_sum"])
        self.curve = [CurvePoint(**p) for p in state["curve"]]
        self.layers = [LayerPoint(**p) for p in state["layers"]]


@torch.no_grad()
def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    inputs: Callable[[torch.Tensor], torch.Tensor] | None = None,
    precision: str = "fp32",
    batch_size: int = EVAL_BATCH,
) -> tuple[float, float]:
    """(mean loss, error rate) of `model` on (x, y) in eval mode, per prediction (per example, or
    per token for next-token targets); `inputs` prepares each batch."""
    was_training = model.training
    model.eval()
    loss, wrong = torch.zeros((), device=x.device), torch.zeros((), device=x.device)
    for i in range(0, len(x), batch_size):
        batch = x[i : i + batch_size]
        with autocast(x.device, precision):
            logits = model(inputs(batch) if inputs else batch).float()
        target = y[i : i + batch_size]
        loss += F.cross_entropy(logits, target, reduction="sum")
        wrong += (logits.argmax(1) != target).sum()
    model.train(was_training)
    return loss.item() / y.numel(), wrong.item() / y.numel()
