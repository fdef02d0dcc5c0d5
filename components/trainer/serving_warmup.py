"""The exported model's warm-up records (assets.extra/tf_serving_warmup_requests), made from real eval texts.

Transform passes the raw `text` through, and EmbeddingGen keeps it beside each embedding, so whichever examples the
Trainer gets (token ids when fine-tuning, embeddings when frozen), it reads the texts from the eval split it has.
"""

import logging

from tensorflow_metadata.proto.v0 import schema_pb2
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from sentence_tfx import features
from sentence_tfx.serving import warmup

log = logging.getLogger(__name__)
WARMUP_TEXTS = 32  # The first 32 texts of the eval split: a client-sized batch, and the pool of the single requests.


def _text_only_schema() -> schema_pb2.Schema:
    schema = schema_pb2.Schema()
    text = schema.feature.add(name=features.TEXT, type=schema_pb2.BYTES)
    text.shape.dim.add(size=1)
    text.presence.min_fraction = 1.0
    return schema


def eval_texts(fn_args: tfx.components.FnArgs, count: int = WARMUP_TEXTS) -> list[bytes]:
    dataset = fn_args.data_accessor.tf_dataset_factory(
        fn_args.eval_files,
        tfxio.TensorFlowDatasetOptions(batch_size=count, shuffle=False, num_epochs=1),
        _text_only_schema(),
    )
    batch = next(iter(dataset))
    return batch[features.TEXT].numpy().reshape(-1).tolist()


def write_warmup_requests(fn_args: tfx.components.FnArgs, model_dir: str) -> None:
    records = warmup.requests_for(eval_texts(fn_args))
    log.info("%d warm-up records written to %s", len(records), warmup.write(model_dir, records))
