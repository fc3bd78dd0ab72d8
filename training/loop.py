"""The epoch loop: steps, validation, ReduceLROnPlateau, checkpoints and exact resumption."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from tinktalker.training.batches import plan_batches
from tinktalker.training.checkpoints import CheckpointStore
from tinktalker.training.plan import TrainingPlan


@dataclass
class Position:
    """Where a run is: saved with every checkpoint, so a resumed run replays nothing and skips
    nothing."""

    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    validation_before: float | None = None
    history: list[dict] = field(default_factory=list)


class TrainingLoop:
    def __init__(
        self,
        plan: TrainingPlan,
        engine,
        trainable: dict,
        optimizer,
        scheduler,
        accelerator,
        store: CheckpointStore,
        lengths: Sequence[int],
        fingerprint: str,
        on_event: Callable[[str, int], None] | None = None,
        progress_bars: bool = True,
    ) -> None:
        self.plan, self.engine, self.trainable = plan, engine, trainable
        self.optimizer, self.scheduler, self.accelerator = optimizer, scheduler, accelerator
        self.store, self.lengths, self.fingerprint = store, lengths, fingerprint
        self.on_event = on_event or (lambda name, count: None)
        self.progress_bars = progress_bars and accelerator.is_local_main_process
        self.position = Position()

    def run(self) -> Position:
        import torch

        if self.position.validation_before is None:  # a fresh run, not a resumed one
            self.position.validation_before = self._validate()
            torch.manual_seed(self.plan.seed)  # dropout draws, for the modes that run the body
            random.seed(self.plan.seed)
        self.on_event("train-start", self.position.global_step)
        while self.position.epoch < self.plan.epochs:
            self._epoch()
            self.on_event("epoch-end", self.position.epoch)
        return self.position

    def _epoch(self) -> None:
        from tqdm.auto import tqdm

        position = self.position
        batches = self._batches(position.epoch)
        bar = tqdm(
            total=len(batches),
            initial=position.step_in_epoch,
            unit="batch",
            leave=False,
            desc=f"epoch {position.epoch + 1}/{self.plan.epochs}",
            disable=not self.progress_bars,
        )
        for indices in batches[position.step_in_epoch :]:
            loss = self._step(indices)
            position.step_in_epoch += 1
            position.global_step += 1
            self._record(train_loss=loss)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")
            self.on_event("step", position.global_step)
            every = self.plan.checkpoint_every
            if (
                every
                and position.global_step % every == 0
                and position.step_in_epoch < len(batches)
            ):
                self.save_checkpoint()
        bar.close()
        self.scheduler.step(self._validate())
        position.epoch += 1
        position.step_in_epoch = 0
        self.save_checkpoint()

    def _step(self, indices: Sequence[int]) -> float:
        loss = self.engine.loss(indices)
        self.accelerator.backward(loss)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return self.accelerator.reduce(loss.detach(), "mean").item()

    def _validate(self) -> float:
        loss = self.engine.evaluate()
        self._record(validation_loss=loss)
        return loss

    def _record(self, **values: float) -> None:
        self.position.history.append(
            {
                "step": self.position.global_step,
                "epoch": self.position.epoch,
                **values,
                "lr": self.optimizer.param_groups[0]["lr"],
            }
        )

    def _batches(self, epoch: int) -> list[list[int]]:
        batches = plan_batches(
            self.lengths,
            self.plan.batch_size,
            self.plan.seed,
            epoch,
            group_by_length=not self.plan.uses_cache,
        )  # cached rows have no padding
        world, rank = self.accelerator.num_processes, self.accelerator.process_index
        if world == 1:
            return batches
        return batches[rank::world][: len(batches) // world]  # equal counts keep ranks in step

    def save_checkpoint(self) -> None:
        if self.accelerator.is_main_process:
            self.store.save(self.position.global_step, self._tensors(), self._state())
        self.accelerator.wait_for_everyone()

    def _tensors(self) -> dict:
        import torch

        rng = {"torch": torch.get_rng_state(), "python": random.getstate()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            "trainable": {name: p.detach().cpu() for name, p in self.trainable.items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": rng,
        }

    def _state(self) -> dict:
        return {"fingerprint": self.fingerprint, **asdict(self.position)}

    def restore(self, tensors: dict, state: dict) -> None:
        import torch

        with torch.no_grad():
            for name, parameter in self.trainable.items():
                parameter.copy_(tensors["trainable"][name])
        self.optimizer.load_state_dict(tensors["optimizer"])
        self.scheduler.load_state_dict(tensors["scheduler"])
        torch.set_rng_state(tensors["rng"]["torch"])
        random.setstate(tensors["rng"]["python"])
        if "cuda" in tensors["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(tensors["rng"]["cuda"])
        state = {key: value for key, value in state.items() if key != "fingerprint"}
        self.position = Position(**state)
