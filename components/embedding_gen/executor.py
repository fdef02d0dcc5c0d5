"""The EmbeddingGen executor: a Beam pipeline that runs the frozen encoder over every split of the transformed
examples, so the most expensive pass of a frozen run scales out with the Beam runner's workers."""

import collections
import logging
import os
import socket

import apache_beam as beam
import numpy as np
import tensorflow as tf
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.transforms.window import GlobalWindows
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils
from tfx.utils import io_utils

from sentence_tfx import features
from sentence_tfx.components.embedding_gen import embeddings
from sentence_tfx.components.trainer import model as classifier_model
from sentence_tfx.config import EmbeddingSettings

log = logging.getLogger(__name__)
EXAMPLES, EMBEDDINGS, SETTINGS = "examples", "embeddings", "settings"  # The component's keys.
EXAMPLES_PER_WORKER = "examples_per_worker"  # Custom property of the output: {"host:pid": examples embedded}.
# Examples buffered, then embedded shortest first: the larger, the closer each batch's lengths (MiniLM, 10,000 SST-2
# texts: chunks of 4,096 took 18 % more encoder time than one sort of all), at ~8 KB per example at seq_length 128.
CHUNK = 16384
_METRICS_NAMESPACE = "sentence_tfx.embedding_gen"


class _EmbedDoFn(beam.DoFn):
    """Loads the encoder once per worker; embeds the records it buffers, CHUNK at a time and at the end of each
    bundle, in length order. Counts its examples under its worker's host:pid."""

    def __init__(self, settings: EmbeddingSettings):
        self._settings = settings

    def setup(self):
        import tensorflow_text  # noqa: F401  (the encoder handle may come with text ops)

        encoder = classifier_model.build_encoder(self._settings.encoder_handle, trainable=False)
        self._embed = embeddings.embedding_function(encoder)
        self._spec = {
            **{name: tf.io.FixedLenFeature([self._settings.seq_length], tf.int64) for name in features.TOKEN_FEATURES},
            features.LABEL_INDEX: tf.io.FixedLenFeature([], tf.int64),
            features.TEXT: tf.io.FixedLenFeature([], tf.string),
        }
        worker = f"{socket.gethostname()}:{os.getpid()}"
        self._embedded = beam.metrics.Metrics.counter(_METRICS_NAMESPACE, worker)

    def start_bundle(self):
        self._records: list[bytes] = []

    def process(self, record: bytes):
        self._records.append(record)
        if len(self._records) >= CHUNK:
            yield from self._flush()

    def finish_bundle(self):
        for example in self._flush():
            yield GlobalWindows.windowed_value(example)

    def _flush(self) -> list[bytes]:
        records, self._records = self._records, []
        if not records:
            return []
        parsed = tf.io.parse_example(records, self._spec)
        ids = {name: parsed[name].numpy().astype(np.int32) for name in features.TOKEN_FEATURES}
        self._embedded.inc(len(records))
        return embeddings.serialize(
            embeddings.embed_in_length_order(self._embed, ids),
            parsed[features.LABEL_INDEX].numpy(),
            parsed[features.TEXT].numpy(),
            vector_name=features.EMBEDDING,
        )


class Executor(base_beam_executor.BaseBeamExecutor):
    def Do(self, input_dict: dict, output_dict: dict, exec_properties: dict) -> None:
        settings = EmbeddingSettings.from_json(exec_properties[SETTINGS])
        examples = artifact_utils.get_single_instance(input_dict[EXAMPLES])
        output = artifact_utils.get_single_instance(output_dict[EMBEDDINGS])
        splits = artifact_utils.decode_split_names(examples.split_names)
        output.split_names = artifact_utils.encode_split_names(splits)
        examples_utils.set_payload_format(output, example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE)
        pipeline = self._make_beam_pipeline()
        for split in splits:
            source = io_utils.all_files_pattern(artifact_utils.get_split_uri([examples], split))
            target = os.path.join(artifact_utils.get_split_uri([output], split), "embeddings")
            _ = (
                pipeline
                | f"Read[{split}]" >> beam.io.ReadFromTFRecord(source)
                # A gzipped file is read by one worker: spread its records over all of them before the encoder.
                | f"Spread[{split}]" >> beam.Reshuffle()
                | f"Embed[{split}]" >> beam.ParDo(_EmbedDoFn(settings))
                | f"Write[{split}]" >> beam.io.WriteToTFRecord(target, file_name_suffix=".gz")
            )
        result = pipeline.run()
        result.wait_until_finish()
        per_worker = collections.Counter()
        for counter in result.metrics().query(MetricsFilter().with_namespace(_METRICS_NAMESPACE))["counters"]:
            per_worker[counter.key.metric.name] += counter.committed  # One counter per worker and split.
        log.info(
            "embedded %d examples in %d worker processes: %s",
            sum(per_worker.values()),
            len(per_worker),
            dict(per_worker),
        )
        output.set_json_value_custom_property(EXAMPLES_PER_WORKER, dict(per_worker))
