"""The linear head: scikit-learn's logistic regression on sentence embeddings, what sentence-transformers users reach
for, its weights copied into a softmax layer (model.build_linear_head) so the exported model computes exactly what was
fitted. The frozen mode's default head (measured: the MLP head stayed below it on SST-2 and TREC,
bench/frozen_head.py) and --mode setfit's."""

import logging

import numpy as np
import tf_keras
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

log = logging.getLogger(__name__)
C_GRID = np.logspace(-2, 3, 11)  # Inverse L2 strengths tried by cross-validation.
CV_FOLDS = 5
MAX_ITERATIONS = 2000


def choose_c(vectors: np.ndarray, labels: np.ndarray, balanced: bool) -> float:
    """The C of best cross-validated accuracy (stratified, 5 folds, fewer when a class has fewer texts; 1, scikit-
    learn's default, when a class has a single text)."""
    folds = min(CV_FOLDS, int(np.bincount(labels)[np.unique(labels)].min()))
    if folds < 2:
        return 1.0
    search = LogisticRegressionCV(
        Cs=C_GRID, cv=folds, max_iter=MAX_ITERATIONS, n_jobs=-1, class_weight="balanced" if balanced else None
    )
    c = float(search.fit(vectors, labels).C_[0])
    log.info("logistic regression: C = %g by %d-fold cross-validation on %d texts", c, folds, len(labels))
    return c


def fit(head: tf_keras.Model, vectors: np.ndarray, labels: np.ndarray, classes: int, c: float, balanced: bool):
    """Fits the regression and copies it into `head`; a class without training texts is never predicted."""
    regression = LogisticRegression(C=c, max_iter=MAX_ITERATIONS, class_weight="balanced" if balanced else None)
    regression.fit(vectors, labels)
    kernel = np.zeros((vectors.shape[1], classes), np.float32)
    bias = np.full(classes, -1e4, np.float32)
    if len(regression.classes_) == 2:  # One weight vector: p(second) = sigmoid(w·x + b) = softmax([0, w·x + b]).
        kernel[:, regression.classes_[1]] = regression.coef_[0]
        bias[regression.classes_] = (0.0, regression.intercept_[0])
    else:
        kernel[:, regression.classes_] = regression.coef_.T
        bias[regression.classes_] = regression.intercept_
    head(vectors[:1])  # Builds it.
    head.set_weights([kernel, bias])
