"""The exported model's warm-up records (assets.extra/tf_serving_warmup_requests), made from real eval texts.

Transform passes the raw `text` through, so the Trainer reads the texts from the eval split it already has.
"""

import logging

from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from sentence_tfx import features
from sentence_tfx.serving import warmup

log = logging.getLogger(__name__)
WARMUP_TEXTS = 32  # The first 32 texts of the eval split: a client-sized batch, and the pool of the single requests.


def eval_texts(fn_args: tfx.components.FnArgs, schema, count: int = WARMUP_TEXTS) -> list[bytes]:
    dataset = fn_args.data_accessor.tf_dataset_factory(
        fn_args.eval_files, tfxio.TensorFlowDatasetOptions(batch_size=count, shuffle=False, num_epochs=1), schema
    )
    batch = next(iter(dataset))
    return batch[features.TEXT].numpy().reshape(-1).tolist()


def write_warmup_requests(fn_args: tfx.components.FnArgs, schema, model_dir: str) -> None:
    records = warmup.requests_for(eval_texts(fn_args, schema))
    log.info("%d warm-up records written to %s", len(records), warmup.write(model_dir, records))
