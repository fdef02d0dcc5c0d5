"""EmbeddingGen's executor on Beam with two worker processes, on transformed examples made by the tiny encoder's
preprocessor: every example embedded once, exactly as the encoder embeds it alone, in both processes."""

import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
import tensorflow_text  # noqa: F401
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils, standard_artifacts

from sentence_tfx import features
from sentence_tfx.components.embedding_gen import embeddings, executor
from sentence_tfx.components.trainer import model as classifier_model
from sentence_tfx.config import EmbeddingSettings

SEQ_LENGTH = 16
WORDS = "a the film movie good bad plot acting fun dull long short scene story".split()
MULTI_PROCESSING = (
    "--runner=FnApiRunner",
    "--direct_running_mode=multi_processing",
    "--direct_num_workers=2",
    "--beam_plugins=sentence_tfx.keras2",
)


def _texts(count: int, seed: int) -> list[str]:
    """Distinct texts of 1 to 20 words, so some fill the 16 tokens and most are trimmed."""
    rng = np.random.default_rng(seed)
    texts: dict[str, None] = {}
    while len(texts) < count:
        texts[" ".join(rng.choice(WORDS, size=rng.integers(1, 21)))] = None
    return list(texts)


def _write_transformed(preprocessor, texts: list[str], labels: np.ndarray, path) -> dict[str, np.ndarray]:
    """What Transform writes: int64 token ids, label_xf and the raw text per example, gzipped TFRecords."""
    ids = {name: value.numpy().astype(np.int32) for name, value in preprocessor(tf.constant(texts)).items()}
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for row, label in enumerate(labels):
            feature = {name: tf.train.Feature(int64_list=tf.train.Int64List(value=ids[name][row])) for name in ids}
            feature[features.LABEL_INDEX] = tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))
            feature[features.TEXT] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[texts[row].encode()]))
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return ids


@pytest.mark.slow
def test_two_worker_processes_embed_every_example_exactly_once(tiny_export, tmp_path):
    preprocessor = hub.KerasLayer(str(tiny_export / "preprocessor"))
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "transformed")
    examples.split_names = artifact_utils.encode_split_names(["train", "eval"])
    expected = {}
    embed = embeddings.embedding_function(classifier_model.build_encoder(str(tiny_export / "encoder"), False))
    for seed, (split, rows) in enumerate((("train", 600), ("eval", 50))):
        labels = np.arange(rows) % 3
        ids = _write_transformed(
            preprocessor, _texts(rows, seed), labels, f"{examples.uri}/Split-{split}/transformed.gz"
        )
        expected[split] = embed(ids).numpy(), labels  # One batch, no length ordering.
    output = standard_artifacts.Examples()
    output.uri = str(tmp_path / "embeddings")
    settings = EmbeddingSettings(encoder_handle=str(tiny_export / "encoder"), seq_length=SEQ_LENGTH)
    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=list(MULTI_PROCESSING), tmp_dir=str(tmp_path / "tmp"), unique_id="1"
    )
    executor.Executor(context).Do(
        {executor.EXAMPLES: [examples]},
        {executor.EMBEDDINGS: [output]},
        {executor.SETTINGS: settings.to_json()},
    )

    for split, (want, want_labels) in expected.items():
        got, got_labels, _ = embeddings.read([f"{output.uri}/Split-{split}/*"])
        distance = np.abs(got[:, np.newaxis, :] - want[np.newaxis, :, :]).max(axis=2)
        nearest = distance.argmin(axis=1)
        assert sorted(nearest) == list(range(len(want))), f"{split}: an example is missing or embedded twice"
        assert distance[np.arange(len(got)), nearest].max() < 1e-5
        np.testing.assert_array_equal(got_labels, want_labels[nearest])
    per_worker = output.get_json_value_custom_property(executor.EXAMPLES_PER_WORKER)
    print(f"examples embedded per worker process: {per_worker}")
    assert sum(per_worker.values()) == 650
    assert len(per_worker) == 2 and min(per_worker.values()) > 0, per_worker
    assert {name.rsplit(":", 1)[1] for name in per_worker}.isdisjoint({str(os.getpid())})
