"""run_fn: trains the classifier frozen (head on cached embeddings) or fine-tuned (two learning rates), exports it."""

import logging
import math
import shutil
import tempfile

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from sentence_tfx import features, schemas
from sentence_tfx.components.embedding_gen import embeddings
from sentence_tfx.components.trainer import distribution
from sentence_tfx.components.trainer import model as classifier_model
from sentence_tfx.components.trainer import eval_scores, serving_warmup, signatures
from sentence_tfx.config import TrainerSettings

log = logging.getLogger(__name__)
FROZEN_HEAD_UPDATES = 5000  # Default budget of the frozen head: 3 epochs of SST-2, 30 of TREC ...
FROZEN_HEAD_EPOCHS = (3, 30)  # ... within these bounds, so tiny data sets are not trained thousands of epochs.
SHUFFLE_SEED = 42


class WarmupLinearDecay(tf_keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `peak`, then linear decay to 0 at `total_steps` (the BERT fine-tuning schedule)."""

    def __init__(self, peak: float, total_steps: int, warmup_steps: int):
        self.peak, self.total_steps, self.warmup_steps = peak, total_steps, max(warmup_steps, 1)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        warmup = self.peak * step / self.warmup_steps
        decay = self.peak * tf.maximum(0.0, (self.total_steps - step) / max(self.total_steps - self.warmup_steps, 1))
        return tf.where(step < self.warmup_steps, warmup, decay)

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps, "warmup_steps": self.warmup_steps}


class TwoRateClassifier(tf_keras.Model):
    """Applies `encoder_optimizer` to the encoder's variables and the compiled optimizer to the head's."""

    encoder_optimizer: tf_keras.optimizers.Optimizer

    def train_step(self, data):
        ids, labels = data
        encoder_variables = self.get_layer(classifier_model.ENCODER_LAYER).trainable_variables
        encoder_refs = {v.ref() for v in encoder_variables}
        head_variables = [v for v in self.trainable_variables if v.ref() not in encoder_refs]
        with tf.GradientTape() as tape:
            scores = self(ids, training=True)
            loss = self.compiled_loss(labels, scores, regularization_losses=self.losses)
        gradients = tape.gradient(loss, encoder_variables + head_variables)
        self.encoder_optimizer.apply_gradients(zip(gradients[: len(encoder_variables)], encoder_variables))
        self.optimizer.apply_gradients(zip(gradients[len(encoder_variables) :], head_variables))
        self.compiled_metrics.update_state(labels, scores)
        return {metric.name: metric.result() for metric in self.metrics}


def _shard_by_example(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Multi-worker: each worker takes every n-th example (a run may have fewer files than workers). The order must
    be the same on every worker for the shards to partition the data, hence the fixed SHUFFLE_SEED."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def _dataset(fn_args, files, tft_output, batch_size: int, shuffle: bool, epochs: int | None = 1) -> tf.data.Dataset:
    dataset = fn_args.data_accessor.tf_dataset_factory(
        files,
        tfxio.TensorFlowDatasetOptions(
            batch_size=batch_size,
            label_key=features.LABEL_INDEX,
            shuffle=shuffle,
            shuffle_seed=SHUFFLE_SEED,
            num_epochs=epochs,
        ),
        tft_output.transformed_metadata.schema,
    )
    return _shard_by_example(
        dataset.map(
            lambda batch, labels: ({name: tf.cast(batch[name], tf.int32) for name in features.TOKEN_FEATURES}, labels)
        )
    )


def _compile(model, optimizer):
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def frozen_head_epochs(examples: int, batch_size: int) -> int:
    fewest, most = FROZEN_HEAD_EPOCHS
    return min(max(math.ceil(FROZEN_HEAD_UPDATES / math.ceil(examples / batch_size)), fewest), most)


def _train_frozen(settings, fn_args, tft_output, encoder, head, callbacks):
    """Only the head trains, for all epochs, on the embeddings EmbeddingGen computed once per example (the Trainer's
    examples in frozen mode). With several workers each one reads all the embeddings and the head's batches are split.
    """
    train_x, train_y = embeddings.read(fn_args.train_files)
    eval_x, eval_y = embeddings.read(fn_args.eval_files)
    epochs = settings.epochs or frozen_head_epochs(len(train_y), settings.batch_size)
    log.info("training the head on %d cached embeddings for %d epochs", len(train_y), epochs)
    _compile(head, tf_keras.optimizers.Adam(settings.head_learning_rate))

    def batches(x, y, shuffle):
        dataset = tf.data.Dataset.from_tensor_slices((x, y))
        dataset = dataset.shuffle(len(y), seed=SHUFFLE_SEED, reshuffle_each_iteration=True) if shuffle else dataset
        return _shard_by_example(dataset.batch(settings.batch_size))

    head.fit(
        batches(train_x, train_y, shuffle=True),
        epochs=epochs,
        validation_data=batches(eval_x, eval_y, shuffle=False),
        callbacks=callbacks,
        verbose=2,
    )


def _train_finetune(settings, fn_args, tft_output, encoder, head, callbacks):
    train_size = sum(
        int(tf.size(labels)) for _, labels in _dataset(fn_args, fn_args.train_files, tft_output, 1024, shuffle=False)
    )
    epoch_steps = math.ceil(train_size / settings.batch_size)
    total_steps = min(settings.epochs * epoch_steps, settings.max_train_steps or math.inf)
    epochs = math.ceil(total_steps / epoch_steps)
    steps_per_epoch = max(total_steps // epochs, 1)  # Equal Keras epochs, never past the cap...
    total_steps = epochs * steps_per_epoch  # ... and the schedule ends exactly with the last one.
    warmup = int(settings.warmup_fraction * total_steps)
    log.info(
        "fine-tuning: %d examples, %d steps (%d warm-up), batch %d",
        train_size,
        total_steps,
        warmup,
        settings.batch_size,
    )

    def adamw(peak):
        optimizer = tf_keras.optimizers.AdamW(
            WarmupLinearDecay(peak, total_steps, warmup), weight_decay=settings.weight_decay
        )
        optimizer.exclude_from_weight_decay(var_names=["bias", "layer_norm", "LayerNorm"])
        return optimizer

    trainable = classifier_model.build_classifier(encoder, head, settings.seq_length, model_class=TwoRateClassifier)
    _compile(trainable, adamw(settings.head_learning_rate))
    trainable.encoder_optimizer = adamw(settings.encoder_learning_rate)
    trainable.fit(
        _dataset(fn_args, fn_args.train_files, tft_output, settings.batch_size, shuffle=True, epochs=None),
        steps_per_epoch=steps_per_epoch,
        epochs=epochs,
        validation_data=_dataset(fn_args, fn_args.eval_files, tft_output, settings.batch_size, shuffle=False),
        callbacks=callbacks,
        verbose=2,
    )


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """TFX Trainer entry point; TrainerSettings arrive as JSON in custom_config["settings"]."""
    settings = TrainerSettings.from_json(fn_args.custom_config["settings"])
    strategy = distribution.create_strategy(settings.distribution)
    chief = distribution.is_chief(strategy)
    scratch = None if chief else tempfile.mkdtemp(prefix="sentence-tfx-worker-")  # Workers save, but not for keeps.
    model_dir = fn_args.serving_model_dir if chief else f"{scratch}/model"
    tft_output = tft.TFTransformOutput(fn_args.transform_output)
    label_names = schemas.read_label_names(fn_args.schema_path)  # In class index order, as Transform used them.
    with strategy.scope():
        encoder = classifier_model.build_encoder(settings.encoder_handle, trainable=settings.mode == "finetune")
        head = classifier_model.build_head(len(label_names), settings.hidden_units, settings.dropout)
        callbacks = [
            tf_keras.callbacks.TensorBoard(
                log_dir=fn_args.model_run_dir if chief else f"{scratch}/logs", update_freq="epoch"
            )
        ]
        train = _train_finetune if settings.mode == "finetune" else _train_frozen
        train(settings, fn_args, tft_output, encoder, head, callbacks)
        classifier = classifier_model.build_classifier(encoder, head, settings.seq_length)
    signatures.export(classifier, encoder, tft_output, label_names, settings.seq_length, model_dir)
    serving_warmup.write_warmup_requests(fn_args, model_dir)
    if chief:  # Outside the strategy's scope, like the export: its functions are traced in cross-replica context.
        scored = (
            eval_scores.of_classifier(classifier, fn_args, tft_output.transformed_metadata.schema)
            if settings.mode == "finetune"
            else eval_scores.of_head(head, fn_args.eval_files)
        )
        eval_scores.write(fn_args.model_run_dir, *scored)
    else:
        shutil.rmtree(scratch, ignore_errors=True)
        distribution.wait_for_chief_export(fn_args.serving_model_dir)
