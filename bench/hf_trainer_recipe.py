"""The fixed recipe (untied head only, dynamic padding, reply-only loss) on Hugging Face's Trainer.

Measured to decide between Trainer and the custom loop: Trainer runs the model every step, so it
cannot reuse the frozen body's outputs the way training/ does.
"""

from __future__ import annotations

import tempfile
import time

from tinktalker.training.batches import pad_batch
from tinktalker.training.examples import Example
from tinktalker.training.trainable import choose_trainable


def trainer_epoch(
    model, examples: list[Example], pad_id: int, batch_size: int, learning_rate: float
) -> float:
    from transformers import Trainer, TrainingArguments

    choose_trainable(model, "head")
    rows = [{"input_ids": list(e.input_ids), "labels": list(e.labels)} for e in examples]

    def collate(features):
        input_ids, attention, labels = pad_batch(
            [Example(tuple(f["input_ids"]), tuple(f["labels"])) for f in features], pad_id
        )
        return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}

    with tempfile.TemporaryDirectory() as folder:
        arguments = TrainingArguments(
            output_dir=folder,
            per_device_train_batch_size=batch_size,
            num_train_epochs=1,
            learning_rate=learning_rate,
            lr_scheduler_type="constant",
            save_strategy="no",
            report_to=[],
            logging_strategy="no",
            disable_tqdm=True,
            train_sampling_strategy="group_by_length",
            use_cpu=True,
            seed=0,
            dataloader_num_workers=0,
        )
        trainer = Trainer(model=model, args=arguments, train_dataset=rows, data_collator=collate)
        started = time.perf_counter()
        trainer.train()
        return time.perf_counter() - started
