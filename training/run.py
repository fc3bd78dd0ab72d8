"""`run_training`: chat data → examples in the serving prompt → base model with its trainable part →
loop → model folder + log + plot."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tinktalker.domain.errors import SetupError
from tinktalker.training.chat_files import read_chat_data
from tinktalker.training.checkpoints import CheckpointStore
from tinktalker.training.engines import CachedHeadEngine, HiddenStates, ModelEngine
from tinktalker.training.examples import IGNORED, Example, ExampleEncoder, PromptBuilder
from tinktalker.training.exchanges import ChatData, Exchange
from tinktalker.training.file_modes import give_written_files_the_usual_mode
from tinktalker.training.loop import TrainingLoop
from tinktalker.training.plan import TrainingPlan
from tinktalker.training.report import plot_losses, write_log
from tinktalker.training.trainable import choose_trainable

log = logging.getLogger(__name__)
LoadModel = Callable[
    [str, str, str, bool], tuple
]  # (name_or_path, device, dtype, local_files_only)
MakePrompt = Callable[
    [object, str, str, int], PromptBuilder
]  # (tokenizer, first marker, second marker, messages the prompt is padded to)
FinishFolder = Callable[
    [Path, object], None
]  # (model folder, tokenizer): chat template, generation config


@dataclass(frozen=True)
class TrainingSummary:
    data: ChatData
    train_examples: int
    validation_examples: int
    steps: int
    perplexity_before: float
    perplexity_after: float
    resumed_from: Path | None
    output: Path
    main_process: bool = True
    validation: tuple[Exchange, ...] = ()


def run_training(
    plan: TrainingPlan,
    load_model: LoadModel,
    make_prompt: MakePrompt,
    progress_bars: bool = True,
    on_event: Callable[[str, int], None] | None = None,
    say: Callable[[str], None] = log.info,
    finish_folder: FinishFolder | None = None,
) -> TrainingSummary:
    """Train as `plan` says (resuming when asked) and write the model folder, log and plot."""
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=plan.device == "cpu", mixed_precision=plan.mixed_precision)
    say = (
        say if accelerator.is_main_process else log.debug
    )  # under torchrun / accelerate, one process speaks
    data = read_chat_data(plan.data, plan.rules(), plan.limit)
    say(f"{plan.data} ({data.kind}): {data.summary()}")
    train_rows, validation_rows = split_by_position(data, plan.validation_fraction, plan.data)
    store = CheckpointStore(plan.output / "checkpoints", plan.keep_checkpoints, on_event)
    fingerprint = plan.fingerprint()
    latest = _checkpoint_to_resume(plan, store, fingerprint)  # checked before the slow model load
    model, tokenizer = load_model(plan.base, "cpu", "float32", plan.local_files_only)
    encoder = ExampleEncoder(
        make_prompt(tokenizer, plan.first_marker, plan.second_marker, plan.pad_to_messages),
        min(plan.max_length, model_positions(model)),
    )
    loop = _build_loop(
        plan,
        model,
        encoder,
        train_rows,
        validation_rows,
        accelerator,
        store,
        on_event,
        progress_bars,
        fingerprint,
        say,
    )
    say(
        f"training on {len(train_rows)} exchanges, validating on the last "
        f"{len(validation_rows)}; mode {plan.mode}"
    )
    if latest is not None:
        loop.restore(*store.load(latest))
        where = f"epoch {loop.position.epoch + 1}, step {loop.position.global_step}"
        say(f"resuming from {latest} ({where})")
    position = loop.run()
    assert position.validation_before is not None  # run() measures it first
    final = next(r["validation_loss"] for r in reversed(position.history) if "validation_loss" in r)
    if accelerator.is_main_process:
        _save_model(accelerator.unwrap_model(model), tokenizer, plan.output)
        if finish_folder is not None:
            finish_folder(plan.output, tokenizer)
        write_log(
            plan.output / "training_log.json",
            plan,
            data,
            position,
            len(train_rows),
            len(validation_rows),
        )
        plot_losses(plan.output / "loss_curves.png", position.history)
        give_written_files_the_usual_mode(plan.output)
    accelerator.wait_for_everyone()
    return TrainingSummary(
        data,
        len(train_rows),
        len(validation_rows),
        position.global_step,
        _perplexity(position.validation_before),
        _perplexity(final),
        latest,
        plan.output,
        accelerator.is_main_process,
        tuple(validation_rows),
    )


def cache_needs(model, examples: Sequence[Example]) -> str:
    """What the head-only cache will hold: one hidden state and one target per scored token."""
    scored = sum(sum(label != IGNORED for label in e.labels[1:]) for e in examples)
    width = int(model.config.hidden_size) * next(model.parameters()).element_size() + 8
    return (
        f"the hidden-state cache will need about {scored * width / 2**20:.0f} MiB of memory "
        f"({scored} scored tokens; --limit N keeps fewer exchanges)"
    )


def model_positions(model) -> int:
    return int(getattr(model.config, "n_positions", None) or model.config.max_position_embeddings)


def _build_loop(
    plan,
    model,
    encoder,
    train_rows,
    validation_rows,
    accelerator,
    store,
    on_event,
    progress_bars,
    fingerprint,
    say: Callable[[str], None] = log.info,
) -> TrainingLoop:
    import torch

    train = encoder.encode_all(train_rows, plan.loss_on)
    validation = encoder.encode_all(
        validation_rows, "reply"
    )  # validation always measures the replies
    trainable = choose_trainable(model, plan.mode)
    names = {name: p for name, p in model.named_parameters() if p.requires_grad}
    if plan.uses_cache:
        say(cache_needs(model, [*train, *validation]))
    engine, optimizer = _engine(
        plan, model, trainable, train, validation, encoder.eos_id, accelerator, progress_bars
    )
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=plan.plateau_factor, patience=plan.plateau_patience
    )
    return TrainingLoop(
        plan,
        engine,
        names,
        optimizer,
        scheduler,
        accelerator,
        store,
        [len(e) for e in train],
        fingerprint,
        on_event,
        progress_bars,
    )


def split_by_position(data: ChatData, fraction: float, path: Path) -> tuple[list, list]:
    """The last `fraction` of the rows validate: neighbouring exchanges never straddle the split."""
    rows = data.exchanges
    if len(rows) < 2:
        raise SetupError(
            f"training data '{path}' has {len(rows)} usable row; at least 2 are needed "
            "(some to train on, some to validate)"
        )
    held_out = min(max(1, round(len(rows) * fraction)), len(rows) - 1)
    return rows[:-held_out], rows[-held_out:]


def _checkpoint_to_resume(
    plan: TrainingPlan, store: CheckpointStore, fingerprint: str
) -> Path | None:
    if Path(plan.base).expanduser().resolve() == plan.output.expanduser().resolve():
        raise SetupError(
            f"--output '{plan.output}' is the base model's folder; the trained model would replace "
            "the one a resumed run starts from: choose another --output"
        )
    latest = store.latest()
    if latest is not None and not plan.resume:
        raise SetupError(
            f"output folder '{plan.output}' already has checkpoints; pass --resume to continue "
            "that run, or choose another --output"
        )
    if latest is None and plan.resume:
        log.warning("no checkpoint in %s yet: starting from the beginning", store.folder)
    if latest is not None and store.fingerprint(latest) != fingerprint:
        raise SetupError(
            f"checkpoint '{latest}' was made with other data or settings; resume with the same "
            "--data and training settings (epochs may grow), or choose another --output"
        )
    return latest


def _engine(plan, model, trainable, train, validation, pad_id, accelerator, progress_bars):
    import torch
    from tqdm.auto import tqdm

    if not plan.uses_cache:
        optimizer = torch.optim.AdamW(
            trainable, lr=plan.learning_rate, weight_decay=plan.weight_decay
        )
        prepared, optimizer = accelerator.prepare(model, optimizer)
        return ModelEngine(
            prepared, train, validation, pad_id, accelerator.device, plan.batch_size
        ), optimizer
    model.to(accelerator.device)
    with tqdm(
        total=len(train) + len(validation),
        desc="hidden states (once)",
        unit="row",
        leave=False,
        disable=not (progress_bars and accelerator.is_local_main_process),
    ) as bar:
        cached = [
            HiddenStates.compute(model, rows, plan.batch_size, pad_id, accelerator.device, bar)
            for rows in (train, validation)
        ]
    optimizer = torch.optim.AdamW(trainable, lr=plan.learning_rate, weight_decay=plan.weight_decay)
    head, optimizer = accelerator.prepare(model.get_output_embeddings(), optimizer)
    return CachedHeadEngine(head, *cached), optimizer


def _save_model(model, tokenizer, output: Path) -> None:
    model.save_pretrained(output)
    tokenizer.save_pretrained(output)


def _perplexity(loss: float) -> float:
    return math.exp(min(loss, 700.0))
