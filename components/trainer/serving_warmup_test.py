"""The warm-up texts come from whichever examples the Trainer gets: Transform's token ids (fine-tuning) or
EmbeddingGen's embeddings (frozen); only the `text` feature is read."""

from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf
from tfx.components.trainer import fn_args_utils
from tfx.components.util import tfxio_utils
from tfx.types import standard_artifacts

from sentence_tfx import features
from sentence_tfx.components.embedding_gen import embeddings
from sentence_tfx.components.trainer import serving_warmup

TEXTS = [f"eval text {i}".encode() for i in range(40)]


def _token_id_records() -> list[bytes]:
    records = []
    for text in TEXTS:
        feature = {
            name: tf.train.Feature(int64_list=tf.train.Int64List(value=[1, 2, 0])) for name in features.TOKEN_FEATURES
        }
        feature[features.TEXT] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[text]))
        records.append(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return records


def _embedding_records() -> list[bytes]:
    rows = len(TEXTS)
    return embeddings.serialize(
        np.ones((rows, 4), np.float32), np.arange(rows) % 2, np.array(TEXTS, object), features.EMBEDDING
    )


@pytest.mark.parametrize("records", [_token_id_records, _embedding_records], ids=["token-ids", "embeddings"])
def test_warmup_texts_are_the_first_eval_texts(records, tmp_path):
    path = str(tmp_path / "eval.gz")
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for record in records():
            writer.write(record)
    accessor = fn_args_utils.DataAccessor(
        tf_dataset_factory=tfxio_utils.get_tf_dataset_factory_from_artifact([standard_artifacts.Examples()], []),
        record_batch_factory=None,
        data_view_decode_fn=None,
    )
    fn_args = SimpleNamespace(data_accessor=accessor, eval_files=[str(tmp_path / "*.gz")])
    assert serving_warmup.eval_texts(fn_args) == TEXTS[: serving_warmup.WARMUP_TEXTS]
