"""TFX's Transform executor, handing preprocessing_fn the run's label names from the schema artifact it receives."""

import functools

from tfx.components.transform import executor as transform_executor
from tfx.components.transform import labels

from sentence_tfx import schemas


class Executor(transform_executor.Executor):
    """The label names are known only at run time (the train split's, unless --labels gave them); the schema artifact,
    an input of Transform anyway, holds them."""

    def _GetPreprocessingFn(self, inputs, unused_outputs):
        preprocessing_fn = super()._GetPreprocessingFn(inputs, unused_outputs)
        label_names = schemas.read_label_names(inputs[labels.SCHEMA_PATH_LABEL])
        return functools.partial(preprocessing_fn, label_names=label_names)
