"""tf.distribute for the Trainer: one process (default), all local devices (mirrored), or a cluster of workers
described by TF_CONFIG (multi_worker_mirrored), as Vertex AI / Kubeflow training jobs set it for each replica."""

import json
import logging
import os
import time

import tensorflow as tf

log = logging.getLogger(__name__)
CHIEF_EXPORT_TIMEOUT_S = 1800.0


def create_strategy(name: str) -> tf.distribute.Strategy:
    """`name` is one of PipelineConfig's DISTRIBUTIONS; "none" is TF's default (single-device) strategy."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker_mirrored":
        if "TF_CONFIG" not in os.environ:
            raise RuntimeError(
                "distribution multi_worker_mirrored needs TF_CONFIG (the cluster and this worker's "
                "task), which the training service sets for each replica"
            )
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        resolver = strategy.cluster_resolver
        log.info(
            "multi-worker training: %s %d of %s, %d replicas in sync",
            resolver.task_type,
            resolver.task_id,
            json.dumps(resolver.cluster_spec().as_dict()),
            strategy.num_replicas_in_sync,
        )
        return strategy
    return tf.distribute.get_strategy()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """The chief writes the model; TF's rule: the 'chief' task, or worker 0 when the cluster has no chief."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (
        resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().jobs
    )


def wait_for_chief_export(path: str, timeout_s: float = CHIEF_EXPORT_TIMEOUT_S) -> None:
    """Non-chief workers return only once the chief's model is complete: TFX's Trainer executor checks, on every
    replica, that the model directory exists after run_fn."""
    marker = os.path.join(path, "saved_model.pb")
    deadline = time.monotonic() + timeout_s
    while not tf.io.gfile.exists(marker):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the chief wrote no model to {path} within {timeout_s:.0f} s")
        time.sleep(1.0)
