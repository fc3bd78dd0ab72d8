"""Training runs on a tiny model: it learns, head-only is head-only, a crashed run resumes
exactly."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from devkit import schema_defaults as defaults
from devkit.dialogue_csv import write_dialogue_csv
from tinktalker.adapters.model.loading import load_model_and_tokenizer
from tinktalker.adapters.model.rudialogpt_prompt import RuDialoGptPrompt
from tinktalker.adapters.model.torch_reply_generator import TorchReplyGenerator
from tinktalker.domain.dialogue import Message, Speaker
from tinktalker.domain.errors import SetupError
from tinktalker.training.faults import InjectedFailure, fault_hook
from tinktalker.training.file_modes import new_file_mode
from tinktalker.training.plan import TrainingPlan
from tinktalker.training.run import run_training

pytestmark = pytest.mark.slow  # real training runs, crashes and resumes


@pytest.fixture(scope="module")
def chat_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dialogue_csv(tmp_path_factory.mktemp("data") / "chat.csv", rows=120)


def plan_for(base: Path, data: Path, output: Path, **changes) -> TrainingPlan:
    values = dict(
        epochs=3,
        batch_size=8,
        learning_rate=1e-2,
        validation_fraction=0.1,
        checkpoint_every=4,
        device="cpu",
    )
    return defaults.training_plan(data, base, output, **{**values, **changes})


def train(plan: TrainingPlan, fault: str | None = None):
    return run_training(
        plan,
        load_model_and_tokenizer,
        RuDialoGptPrompt.for_markers,
        progress_bars=False,
        on_event=fault_hook(fault),
    )


@pytest.fixture(scope="module")
def head_run(tiny_model_dir: Path, chat_csv: Path, tmp_path_factory: pytest.TempPathFactory):
    return train(plan_for(tiny_model_dir, chat_csv, tmp_path_factory.mktemp("head") / "out"))


def test_validation_loss_falls_on_a_learnable_dialogue_set(head_run) -> None:
    assert head_run.perplexity_after < head_run.perplexity_before / 10
    assert (head_run.train_examples, head_run.validation_examples) == (108, 12)


def test_head_only_leaves_body_and_input_embeddings_bitwise_unchanged(
    tiny_model_dir: Path, head_run
) -> None:
    before, after = (
        load_file(tiny_model_dir / "model.safetensors"),
        load_file(head_run.output / "model.safetensors"),
    )
    body = [name for name in before if name != "lm_head.weight"]
    assert "transformer.wte.weight" in body
    assert all(torch.equal(before[name], after[name]) for name in body)
    assert not torch.equal(after["lm_head.weight"], after["transformer.wte.weight"])


def test_output_folder_loads_untied_and_generates(head_run) -> None:
    model = AutoModelForCausalLM.from_pretrained(head_run.output)
    assert model.config.tie_word_embeddings is False
    assert model.lm_head.weight is not model.transformer.wte.weight
    assert not torch.equal(model.lm_head.weight, model.transformer.wte.weight)
    model, tokenizer = load_model_and_tokenizer(str(head_run.output), device="cpu")
    generator = TorchReplyGenerator(
        model,
        tokenizer,
        defaults.decoding(do_sample=False, num_beams=1, max_new_tokens=8),
        defaults.markers(),
        pad_to_messages=3,
    )  # the serving prompt, which is what it was trained on
    try:
        reply = asyncio.run(generator.generate([Message(Speaker.USER, "акции растут")]))
    finally:
        generator.close()
    assert reply.completion_tokens > 0 and "купил" in reply.text  # it learned the answer


def test_log_and_plot_are_written(head_run) -> None:
    import json

    log = json.loads((head_run.output / "training_log.json").read_text(encoding="utf-8"))
    validations = [r["validation_loss"] for r in log["records"] if "validation_loss" in r]
    assert (
        len(validations) == 4 and validations[-1] < validations[0]
    )  # before training + each epoch
    assert all("lr" in r for r in log["records"]) and log["data"]["used"] == 120
    assert (head_run.output / "loss_curves.png").read_bytes()[:4] == b"\x89PNG"
    assert len(list((head_run.output / "checkpoints").glob("step-*"))) == 2  # older ones pruned


def test_everything_written_is_readable_by_others(head_run) -> None:
    expected = new_file_mode()  # 0644 under the usual umask 022
    modes = {
        path.relative_to(head_run.output).as_posix(): oct(path.stat().st_mode & 0o777)
        for path in head_run.output.rglob("*")
        if path.is_file()
    }
    assert "model.safetensors" in modes and "loss_curves.png" in modes
    assert {name: mode for name, mode in modes.items() if mode != oct(expected)} == {}


def test_tied_mode_reproduces_the_original_and_moves_input_embeddings(
    tiny_model_dir, chat_csv, tmp_path
) -> None:
    run = train(plan_for(tiny_model_dir, chat_csv, tmp_path / "out", mode="tied", epochs=1))
    before, after = (
        load_file(tiny_model_dir / "model.safetensors"),
        load_file(run.output / "model.safetensors"),
    )
    assert not torch.equal(before["transformer.wte.weight"], after["transformer.wte.weight"])
    assert torch.equal(
        before["transformer.h.0.attn.c_attn.weight"], after["transformer.h.0.attn.c_attn.weight"]
    )


@pytest.mark.parametrize(
    "mode, fault",
    [
        ("head", "raise-after-step:6"),
        ("head", "raise-in-checkpoint:2"),
        ("full", "raise-after-step:9"),
        ("full", "raise-in-checkpoint:3"),
    ],
)
def test_crashed_and_resumed_equals_uninterrupted(
    tiny_model_dir, chat_csv, tmp_path, mode, fault
) -> None:
    plan = plan_for(
        tiny_model_dir,
        chat_csv,
        tmp_path / "whole",
        mode=mode,
        epochs=2,
        learning_rate=1e-3 if mode == "full" else 1e-2,
    )
    whole = train(plan)
    crashed = replace(plan, output=tmp_path / "crashed")
    with pytest.raises(InjectedFailure):
        train(crashed, fault)
    resumed = train(replace(crashed, resume=True))
    assert resumed.resumed_from is not None
    expected, got = (
        load_file(whole.output / "model.safetensors"),
        load_file(resumed.output / "model.safetensors"),
    )
    assert all(torch.equal(expected[name], got[name]) for name in expected)
    assert resumed.perplexity_after == whole.perplexity_after


def test_a_checkpoint_half_written_is_never_loaded(tiny_model_dir, chat_csv, tmp_path) -> None:
    plan = plan_for(tiny_model_dir, chat_csv, tmp_path / "out")
    with pytest.raises(InjectedFailure):
        train(plan, "raise-in-checkpoint:2")
    checkpoints = tmp_path / "out" / "checkpoints"
    assert [p.name for p in checkpoints.iterdir() if p.name.startswith(".writing-")]
    assert [p.name for p in checkpoints.glob("step-*")] == ["step-000000004"]


def test_resume_refuses_other_settings_and_fresh_runs_refuse_old_checkpoints(
    tiny_model_dir, chat_csv, tmp_path
) -> None:
    plan = plan_for(tiny_model_dir, chat_csv, tmp_path / "out", epochs=1)
    with pytest.raises(InjectedFailure):
        train(plan, "raise-after-step:5")
    with pytest.raises(SetupError, match="already has checkpoints; pass --resume"):
        train(plan)
    with pytest.raises(SetupError, match="other data or settings"):
        train(replace(plan, resume=True, learning_rate=0.5))
    with pytest.raises(SetupError, match="is the base model's folder"):
        train(replace(plan, output=tiny_model_dir))


def test_cached_hidden_states_score_like_the_whole_model(
    tiny_model_dir, chat_csv, tmp_path
) -> None:
    cached = train(plan_for(tiny_model_dir, chat_csv, tmp_path / "cached", epochs=1))
    uncached = train(
        plan_for(
            tiny_model_dir, chat_csv, tmp_path / "uncached", epochs=1, cache_hidden_states=False
        )
    )
    assert cached.perplexity_before == pytest.approx(uncached.perplexity_before, rel=1e-5)
    before, after = (
        load_file(tiny_model_dir / "model.safetensors"),
        load_file(uncached.output / "model.safetensors"),
    )
    assert all(
        torch.equal(before[name], after[name]) for name in before if name != "lm_head.weight"
    )


@pytest.mark.parametrize("mode", ["head", "tied"])
def test_no_gradient_reaches_the_body_in_head_mode(tiny_model_dir, mode) -> None:
    from tinktalker.training.trainable import choose_trainable, head_is_tied

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    trainable = choose_trainable(model, mode)
    assert head_is_tied(model) is (mode == "tied") and model.config.tie_word_embeddings is (
        mode == "tied"
    )
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    model(input_ids=ids, labels=ids).loss.backward()
    assert trainable[0].grad is not None
    # Whether autograd must go back through the body: in the original (tied) it must, to reach wte.
    assert model.transformer(input_ids=ids).last_hidden_state.requires_grad is (mode == "tied")
    embeddings = model.get_input_embeddings().weight
    if mode == "head":
        assert embeddings.grad is None and all(
            p.grad is None for p in model.transformer.h.parameters()
        )
    else:
        assert embeddings.grad is trainable[0].grad
