"""What the run report adds to a run: RunReport's executor again on a finished run's own inputs, timed.

    .venv/bin/python bench/report.py --pipeline-root runs/demo/pipeline [--repeat 3]

Reads the last RunReport execution's inputs and settings from the run's ML Metadata, runs the executor --repeat
times in this process into a temporary folder (the run's own report is left alone), and prints each wall time next
to the run's own steps' (ML Metadata execution times) and the share of the run it is. It runs no model: the eval
scores it draws from are the Trainer's (components/trainer/eval_scores.py).
"""

import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import argparse
import json
import logging
import os
import statistics
import tempfile
import time

from tfx.types import artifact_utils

from sentence_tfx.components.report import component, executor
from sentence_tfx.config import PipelineConfig
from sentence_tfx.pipeline import results

NODE = component.RunReport.__name__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline-root", required=True)
    parser.add_argument("--metadata-path", help="default: <pipeline-root>/metadata.sqlite")
    parser.add_argument("--pipeline-name", default="sentence-tfx")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = PipelineConfig(
        train_data="-",
        pipeline_root=args.pipeline_root,
        metadata_path=args.metadata_path,
        pipeline_name=args.pipeline_name,
    )
    store = results.open_store(config)
    execution, inputs = results.latest_outputs(store, args.pipeline_name, NODE, results.INPUT_EVENTS)
    input_dict = {}
    for key, artifacts in inputs.items():
        [artifact_type] = store.get_artifact_types_by_id([artifacts[0].type_id])
        input_dict[key] = [artifact_utils.deserialize_artifact(artifact_type, a) for a in artifacts]
    exec_properties = {executor.SETTINGS_KEY: execution.custom_properties[executor.SETTINGS_KEY].string_value}
    times = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as out:
            report = component.RunReportPage()
            report.uri = out
            started = time.monotonic()
            executor.Executor().Do(input_dict, {component.REPORT_KEY: [report]}, exec_properties)
            times.append(time.monotonic() - started)
            size = os.path.getsize(os.path.join(out, executor.REPORT_FILE))
    steps = results.step_seconds(store, args.pipeline_name)
    run_seconds = sum(seconds for node, seconds in steps.items() if node != NODE)
    print(
        json.dumps(
            {
                "report_seconds": [round(t, 2) for t in times],
                "report_median_seconds": round(statistics.median(times), 2),
                "report_bytes": size,
                "run_steps_seconds_without_report": round(run_seconds, 1),
                "report_share_of_run": round(times[0] / run_seconds, 4),
                "steps": {node: round(seconds, 1) for node, seconds in steps.items()},
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
