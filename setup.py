"""sentence-tfx: a sentence-transformer text classifier, trained, validated and served with TFX.

Everything installs under one import package, `sentence_tfx`, so no generic name (pipeline, components, encoder...)
lands in site-packages: the repository's top-level folders are its subpackages (`pipeline/` is
`sentence_tfx.pipeline`, and so on).

The exact, tested dependency set lives in requirements.lock (installed with --no-deps by `make setup`): the
resolver cannot install it, because tfx 1.16 pins tensorflow-hub<0.16 while TF 2.16 needs 0.16.1.
"""

from setuptools import find_packages, setup

SUBPACKAGES = ("pipeline", "components", "encoder", "serving", "schemas")

setup(
    name="sentence-tfx",
    version="0.2.0",
    description="Sentence-transformer text classifiers in production with TFX",
    python_requires=">=3.10,<3.11",
    packages=["sentence_tfx"]
    + [
        f"sentence_tfx.{package}"
        for package in find_packages(include=[pattern for name in SUBPACKAGES for pattern in (name, f"{name}.*")])
    ],
    package_dir={"sentence_tfx": "sentence_tfx", **{f"sentence_tfx.{name}": name for name in SUBPACKAGES}},
    package_data={"sentence_tfx.encoder.serving_ops": ["*.txt"], "sentence_tfx.schemas": ["*.pbtxt"]},
    install_requires=[
        "tfx==1.16.0",
        "tensorflow==2.16.2",
        "tf_keras==2.16.0",
        "tensorflow-text==2.16.1",
        "tensorflow-hub==0.16.1",
        "tokenizers==0.22.1",
        "numpy<2",
    ],
    entry_points={"console_scripts": ["sentence-tfx=sentence_tfx.pipeline.cli:main"]},
)
