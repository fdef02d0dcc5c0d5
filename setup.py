"""sentence-tfx: a sentence-transformer text classifier, trained, validated and served with TFX.

The exact, tested dependency set lives in requirements.lock (installed with --no-deps by `make setup`): the
resolver cannot install it, because tfx 1.16 pins tensorflow-hub<0.16 while TF 2.16 needs 0.16.1.
"""
from setuptools import find_packages, setup

setup(
    name="sentence-tfx",
    version="0.1.0",
    description="Sentence-transformer text classifiers in production with TFX",
    python_requires=">=3.10,<3.11",
    packages=find_packages(include=["pipeline", "pipeline.*", "components", "components.*", "schemas",
                                    "schemas.*"]),
    package_data={"components.encoder.serving_ops": ["*.txt"], "schemas": ["*.pbtxt"]},
    install_requires=["tfx==1.16.0", "tensorflow==2.16.2", "tf_keras==2.16.0", "tensorflow-text==2.16.1",
                      "tensorflow-hub==0.16.1", "tokenizers==0.22.1", "numpy<2"],
    entry_points={"console_scripts": ["sentence-tfx=pipeline.cli:main"]},
)
