"""run_fn: trains the classifier frozen (head on cached embeddings) or fine-tuned (two learning rates), exports it."""

import dataclasses
import logging
import math
import shutil
import tempfile
import time

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tf_keras
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from sentence_tfx import features, schemas
from sentence_tfx.components.embedding_gen import embeddings
from sentence_tfx.components.trainer import distribution
from sentence_tfx.components.trainer import model as classifier_model
from sentence_tfx.components.trainer import (
    calibration,
    eval_scores,
    linear_head,
    optimization,
    serving_warmup,
    setfit,
    signatures,
    training_summary,
    validation,
)
from sentence_tfx.config import TrainerSettings

log = logging.getLogger(__name__)
FROZEN_HEAD_UPDATES = 5000  # Default budget of the frozen head: 3 epochs of SST-2, 30 of TREC ...
FROZEN_HEAD_EPOCHS = (3, 30)  # ... within these bounds, so tiny data sets are not trained thousands of epochs.
FROZEN_PATIENCE = 3  # Epochs without a lower validation loss before the frozen head stops.
SHUFFLE_SEED = 42


class TwoRateClassifier(tf_keras.Model):
    """Applies `encoder_optimizer` to the encoder's variables and the compiled optimizer to the head's."""

    encoder_optimizer: tf_keras.optimizers.Optimizer

    def train_step(self, data):
        ids, labels, sample_weight = tf_keras.utils.unpack_x_y_sample_weight(data)
        encoder_variables = self.get_layer(classifier_model.ENCODER_LAYER).trainable_variables
        encoder_refs = {v.ref() for v in encoder_variables}
        head_variables = [v for v in self.trainable_variables if v.ref() not in encoder_refs]
        with tf.GradientTape() as tape:
            scores = self(ids, training=True)
            loss = self.compiled_loss(labels, scores, sample_weight, regularization_losses=self.losses)
        gradients = tape.gradient(loss, encoder_variables + head_variables)
        self.encoder_optimizer.apply_gradients(zip(gradients[: len(encoder_variables)], encoder_variables))
        self.optimizer.apply_gradients(zip(gradients[len(encoder_variables) :], head_variables))
        self.compiled_metrics.update_state(labels, scores, sample_weight)
        return {metric.name: metric.result() for metric in self.metrics}


def _shard_by_example(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Multi-worker: each worker takes every n-th example (a run may have fewer files than workers). The order must
    be the same on every worker for the shards to partition the data, hence the fixed SHUFFLE_SEED."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def _examples(fn_args, files, tft_output, batch_size: int, shuffle: bool, epochs: int | None = 1) -> tf.data.Dataset:
    """Batches of (int32 ids, label index, text) from Transform's examples."""
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
    return dataset.map(
        lambda batch, labels: (
            {name: tf.cast(batch[name], tf.int32) for name in features.TOKEN_FEATURES},
            labels,
            tf.reshape(batch[features.TEXT], [-1]),
        )
    )


def _dataset(fn_args, files, tft_output, batch_size, shuffle, epochs=1, keep=None) -> tf.data.Dataset:
    """(ids, label index) batches for Keras; `keep(text)`, if given, chooses the examples (a side of the validation
    split)."""
    dataset = _examples(fn_args, files, tft_output, batch_size, shuffle, epochs)
    if keep is not None:
        dataset = dataset.unbatch().filter(lambda ids, label, text: keep(text)).batch(batch_size)
    return _shard_by_example(dataset.map(lambda ids, labels, text: (ids, labels)))


def _adamw(settings, peak: float, total_steps: int) -> optimization.AdamW:
    return optimization.adamw(peak, total_steps, settings.warmup_fraction, settings.weight_decay)


def _compile(model, optimizer):
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def frozen_head_epochs(examples: int, batch_size: int) -> int:
    fewest, most = FROZEN_HEAD_EPOCHS
    return min(max(math.ceil(FROZEN_HEAD_UPDATES / math.ceil(examples / batch_size)), fewest), most)


# The training summary's fields for a head fitted without epochs; _calibrate fills in the validation figures.
_NO_EPOCHS = dict(epochs_run=0, chosen_epoch=0, validation_loss=None, validation_accuracy=None, regularization=None)


@dataclasses.dataclass(frozen=True)
class _Split:
    """The training data after the validation split is carved out of it."""

    class_counts: np.ndarray  # Training examples per class index.
    validation_examples: int  # 0: too few held out (validation.MIN_EXAMPLES), all of train trains.

    def class_weights(self, policy: str) -> np.ndarray:
        """balanced: n / (classes × count), sklearn's rule; a class without examples gets weight 0."""
        if policy == "none":
            return np.ones(len(self.class_counts))
        with np.errstate(divide="ignore"):
            weights = self.class_counts.sum() / (len(self.class_counts) * self.class_counts)
        return np.where(self.class_counts > 0, weights, 0.0)


def _fit(model, settings, split: _Split, train, validation_data, epochs, steps_per_epoch, patience, callbacks):
    """Keras fit that keeps the weights of the epoch of least validation loss. Returns the summary's training
    fields: epochs run, chosen epoch, its validation loss and accuracy."""
    weights = split.class_weights(settings.class_weight)
    if settings.class_weight != "none":
        log.info("class weights (%s): %s", settings.class_weight, ", ".join(f"{w:.3g}" for w in weights))
    stopper = tf_keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    history = model.fit(
        train,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=validation_data,
        class_weight=dict(enumerate(weights)) if settings.class_weight != "none" else None,
        callbacks=callbacks + ([stopper] if validation_data is not None else []),
        verbose=2,
    ).history
    epochs_run = len(history["loss"])
    if validation_data is None:
        log.info("no validation split: the model is the last of %d epochs", epochs_run)
        return dict(_NO_EPOCHS, epochs_run=epochs_run, chosen_epoch=epochs_run)
    best = int(np.argmin(history["val_loss"]))
    chosen = dict(
        epochs_run=epochs_run,
        chosen_epoch=best + 1,
        validation_loss=float(history["val_loss"][best]),
        validation_accuracy=float(history["val_accuracy"][best]),
        regularization=None,
    )
    log.info(
        "chosen: epoch %d of %d (validation loss %.4f, accuracy %.4f on %d examples held out of train)",
        chosen["chosen_epoch"],
        epochs_run,
        chosen["validation_loss"],
        chosen["validation_accuracy"],
        split.validation_examples,
    )
    return chosen


@dataclasses.dataclass(frozen=True)
class _TrainEmbeddings:
    """Frozen mode's train split as EmbeddingGen wrote it (the Trainer's examples), read once for training,
    calibration and the refit; `held_out` marks the validation split's rows."""

    vectors: np.ndarray
    labels: np.ndarray
    held_out: np.ndarray

    @classmethod
    def read(cls, settings, fn_args) -> "_TrainEmbeddings":
        vectors, labels, texts = embeddings.read(fn_args.train_files)
        return cls(vectors, labels, validation.held_out_mask(texts, settings.validation_fraction))


def _train_frozen(settings, train_embeddings: _TrainEmbeddings, head, classes, callbacks):
    """Only the head trains, on the embeddings EmbeddingGen computed once per example: the linear head by logistic
    regression, the MLP head until the validation loss stops falling (with several workers each one reads all the
    embeddings and the head's batches are split)."""
    vectors, labels, held_out = train_embeddings.vectors, train_embeddings.labels, train_embeddings.held_out
    train_x, train_y = vectors[~held_out], labels[~held_out]
    split = _Split(np.bincount(train_y, minlength=classes), int(held_out.sum()))
    if settings.head == "linear":  # C by cross-validation on all of train, as the refit after calibration uses it.
        balanced = settings.class_weight == "balanced"
        c = linear_head.choose_c(vectors, labels, balanced)
        linear_head.fit(head, train_x, train_y, classes, c, balanced)
        return split, dict(_NO_EPOCHS, regularization=c)
    epochs = settings.epochs or frozen_head_epochs(len(train_y), settings.batch_size)
    log.info("training the head on %d cached embeddings for at most %d epochs", len(train_y), epochs)
    _compile(head, tf_keras.optimizers.Adam(settings.head_learning_rate))

    def batches(x, y, shuffle):
        dataset = tf.data.Dataset.from_tensor_slices((x, y))
        dataset = dataset.shuffle(len(y), seed=SHUFFLE_SEED, reshuffle_each_iteration=True) if shuffle else dataset
        return _shard_by_example(dataset.batch(settings.batch_size))

    validation_data = batches(vectors[held_out], labels[held_out], shuffle=False) if split.validation_examples else None
    chosen = _fit(
        head,
        settings,
        split,
        batches(train_x, train_y, True),
        validation_data,
        epochs,
        None,
        FROZEN_PATIENCE,
        callbacks,
    )
    return split, chosen


def _count_train_split(settings, fn_args, tft_output, classes) -> _Split:
    """One pass over the train examples: class counts on each side of the validation split."""
    counts = {True: np.zeros(classes, np.int64), False: np.zeros(classes, np.int64)}
    for _, labels, texts in _examples(fn_args, fn_args.train_files, tft_output, 1024, shuffle=False):
        held_out = validation.is_held_out(texts, settings.validation_fraction).numpy()
        for side in counts:
            counts[side] += np.bincount(labels.numpy().reshape(-1)[held_out == side], minlength=classes)
    if counts[True].sum() < validation.MIN_EXAMPLES:
        return _Split(counts[True] + counts[False], 0)
    return _Split(counts[False], int(counts[True].sum()))


def _train_finetune(settings, fn_args, tft_output, encoder, head, classes, callbacks):
    split = _count_train_split(settings, fn_args, tft_output, classes)
    train_size = int(split.class_counts.sum())
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

    trainable = classifier_model.build_classifier(encoder, head, settings.seq_length, model_class=TwoRateClassifier)
    _compile(trainable, _adamw(settings, settings.head_learning_rate, total_steps))
    trainable.encoder_optimizer = _adamw(settings, settings.encoder_learning_rate, total_steps)

    def held_out(text):
        return validation.is_held_out(text, settings.validation_fraction)

    train = _dataset(
        fn_args,
        fn_args.train_files,
        tft_output,
        settings.batch_size,
        shuffle=True,
        epochs=None,
        keep=(lambda text: tf.logical_not(held_out(text))) if split.validation_examples else None,
    )
    validation_data = (
        _dataset(fn_args, fn_args.train_files, tft_output, settings.batch_size, shuffle=False, keep=held_out)
        if split.validation_examples
        else None
    )
    chosen = _fit(trainable, settings, split, train, validation_data, epochs, steps_per_epoch, epochs, callbacks)
    return split, chosen


def _train_setfit(settings, fn_args, tft_output, encoder, head, classes, callbacks):
    """setfit.py: the encoder on pairs of training texts, then the logistic-regression head; no epochs to choose."""
    ids, labels, texts = setfit.read_ids(_examples(fn_args, fn_args.train_files, tft_output, 1024, shuffle=False))
    held_out = validation.held_out_mask(texts, settings.validation_fraction)
    train_ids, train_y = {name: value[~held_out] for name, value in ids.items()}, labels[~held_out]
    split = _Split(np.bincount(train_y, minlength=classes), int(held_out.sum()))
    setfit.train_encoder(
        encoder, train_ids, train_y, settings, lambda steps: _adamw(settings, settings.encoder_learning_rate, steps)
    )
    setfit.fit_head(encoder, head, train_ids, train_y, classes, balanced=settings.class_weight == "balanced")
    epochs = settings.setfit_epochs
    return split, dict(_NO_EPOCHS, epochs_run=epochs, chosen_epoch=epochs, regularization=setfit.HEAD_C)


def _refit_on_all_of_train(settings, train_embeddings: _TrainEmbeddings, head, classes: int, c: float) -> None:
    """The frozen linear head, with the C chosen and the temperature fitted on the validation split, refitted on all
    of train, validation texts included, as the model selection is done (scikit-learn's *CV estimators do the same)."""
    balanced = settings.class_weight == "balanced"
    linear_head.fit(head, train_embeddings.vectors, train_embeddings.labels, classes, c, balanced)
    log.info("linear head refitted on all %d training texts", len(train_embeddings.labels))


def _validation_scores(settings, fn_args, tft_output, train_embeddings, head, scorer):
    """The uncalibrated model's scores on the validation split, and its labels: frozen, the head over the held-out
    embeddings; otherwise the classifier over the held-out train examples."""
    if train_embeddings is None:
        scores, labels, _ = eval_scores.of_classifier(
            scorer,
            fn_args,
            fn_args.train_files,
            tft_output.transformed_metadata.schema,
            keep=lambda texts: validation.is_held_out(texts, settings.validation_fraction).numpy(),
        )
        return scores, labels
    held_out = train_embeddings.held_out
    return eval_scores.head_scores(head, train_embeddings.vectors[held_out]), train_embeddings.labels[held_out]


def _calibrate(settings, fn_args, tft_output, train_embeddings, head, scorer, split: _Split, chosen: dict):
    """The temperature fitted on the validation split (1 without one) and the training summary."""
    temperature, before, after = 1.0, None, None
    if split.validation_examples:
        scores, labels = _validation_scores(settings, fn_args, tft_output, train_embeddings, head, scorer)
        if chosen["validation_loss"] is None:  # A regression head: no epoch was chosen; the final model's figures.
            accuracy = float(np.mean(scores.argmax(axis=1) == labels))
            chosen = {
                **chosen,
                "validation_loss": calibration.log_loss(scores, labels),
                "validation_accuracy": accuracy,
            }
        temperature = calibration.fit_temperature(scores, labels)
        before = calibration.expected_calibration_error(scores, labels)
        after = calibration.expected_calibration_error(calibration.rescale(scores, temperature), labels)
        log.info("temperature %.3f: validation ECE %.4f -> %.4f", temperature, before, after)
    summary = training_summary.TrainingSummary(
        head=settings.head,
        class_counts=tuple(int(c) for c in split.class_counts),
        class_weights=tuple(float(w) for w in split.class_weights(settings.class_weight)),
        validation_examples=split.validation_examples,
        temperature=temperature,
        validation_ece_before=before,
        validation_ece_after=after,
        **chosen,
    )
    if summary.imbalanced:
        log.warning(
            "the rarest class has %.1f%% of the largest one's training examples%s",
            100 * summary.rarest_class_share,
            "" if settings.class_weight == "balanced" else "; consider --class-weight balanced",
        )
    return temperature, summary


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """TFX Trainer entry point; TrainerSettings arrive as JSON in custom_config["settings"]."""
    started = time.monotonic()
    settings = TrainerSettings.from_json(fn_args.custom_config["settings"])
    strategy = distribution.create_strategy(settings.distribution)
    chief = distribution.is_chief(strategy)
    scratch = None if chief else tempfile.mkdtemp(prefix="sentence-tfx-worker-")  # Workers save, but not for keeps.
    model_dir = fn_args.serving_model_dir if chief else f"{scratch}/model"
    tft_output = tft.TFTransformOutput(fn_args.transform_output)
    label_names = schemas.read_label_names(fn_args.schema_path)  # In class index order, as Transform used them.
    classes = len(label_names)
    train_embeddings = _TrainEmbeddings.read(settings, fn_args) if settings.mode == "frozen" else None
    with strategy.scope():
        encoder = classifier_model.build_encoder(settings.encoder_handle, trainable=settings.mode != "frozen")
        head = (
            classifier_model.build_linear_head(classes)
            if settings.head == "linear"
            else classifier_model.build_head(classes, settings.hidden_units, settings.dropout)
        )
        callbacks = [
            tf_keras.callbacks.TensorBoard(
                log_dir=fn_args.model_run_dir if chief else f"{scratch}/logs", update_freq="epoch"
            )
        ]
        if train_embeddings is not None:
            split, chosen = _train_frozen(settings, train_embeddings, head, classes, callbacks)
        else:
            train = _train_finetune if settings.mode == "finetune" else _train_setfit
            split, chosen = train(settings, fn_args, tft_output, encoder, head, classes, callbacks)
        scorer = classifier_model.build_classifier(encoder, head, settings.seq_length)
    # Outside the strategy's scope, like the export: its functions are traced in cross-replica context. Only the
    # chief's model is kept, so only the chief calibrates it.
    temperature = 1.0
    if chief:
        temperature, summary = _calibrate(settings, fn_args, tft_output, train_embeddings, head, scorer, split, chosen)
    if train_embeddings is not None and settings.head == "linear" and split.validation_examples:
        _refit_on_all_of_train(settings, train_embeddings, head, classes, chosen["regularization"])
    calibrated_head = tf_keras.Sequential([head, calibration.Temperature(temperature)], name="calibrated_head")
    with strategy.scope():
        classifier = classifier_model.build_classifier(encoder, calibrated_head, settings.seq_length)
    trained = time.monotonic()
    signatures.export(classifier, encoder, tft_output, label_names, settings.seq_length, model_dir)
    serving_warmup.write_warmup_requests(fn_args, model_dir)
    exported = time.monotonic()
    if chief:
        scored = (
            eval_scores.of_head(calibrated_head, fn_args.eval_files)
            if settings.mode == "frozen"
            else eval_scores.of_classifier(
                classifier, fn_args, fn_args.eval_files, tft_output.transformed_metadata.schema
            )
        )
        eval_scores.write(fn_args.model_run_dir, *scored)
        phases = {"train": trained - started, "export": exported - trained, "eval_scores": time.monotonic() - exported}
        log.info("Trainer: %s", ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in phases.items()))
        training_summary.write(fn_args.model_run_dir, dataclasses.replace(summary, phase_seconds=phases))
    else:
        shutil.rmtree(scratch, ignore_errors=True)
        distribution.wait_for_chief_export(fn_args.serving_model_dir)
