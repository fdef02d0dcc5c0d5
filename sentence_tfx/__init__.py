"""sentence-tfx: sentence-transformer text classifiers, trained, validated and served with TFX.

Packages: `config` and `features` (leaf modules every other one may import), `components` (the TFX stages),
`pipeline` (assembly, runners, CLI), `encoder` (the sentence-transformer converter), `serving` (the model server),
`schemas` (the curated schema). Imports flow one way: pipeline → components → encoder/schemas → the leaf modules
(config, features, errors, keras2); serving imports only the leaf modules.

Keras 2 (tf_keras), which tensorflow_hub's KerasLayer needs, is selected by `sentence_tfx.keras2`, imported first by
the packages that use Keras; this package itself sets nothing, so the model server loads no Keras 2.
"""


def __getattr__(name):
    """sentence_tfx.ValidationReport (and QuarantinedRows, RunReportPage), imported on first use: Kubeflow V2
    containers resolve a custom artifact type from its TYPE_NAME "sentence_tfx.ValidationReport"; a lazy import keeps
    `import sentence_tfx` free of TensorFlow."""
    if name == "ValidationReport":
        from sentence_tfx.components.data_validation.gate import ValidationReport

        return ValidationReport
    if name == "QuarantinedRows":
        from sentence_tfx.components.example_gen.quarantine import QuarantinedRows

        return QuarantinedRows
    if name == "RunReportPage":
        from sentence_tfx.components.report.component import RunReportPage

        return RunReportPage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
