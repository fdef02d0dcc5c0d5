"""The exported model's signatures. Tokenization comes from the Transform graph, so serving cannot drift from training.

- serving_default: raw text strings → scores, classes (label names), label (the top class)
- serving_tf_example: serialized tf.Example (TFMA, TF Serving classify) → same outputs
- serving_token_ids: the three int32 [batch, seq_length] id tensors → same outputs
- embed: raw text → the (fine-tuned) encoder's sentence embedding
- transform_features: serialized tf.Example → transformed features (TFMA's label preprocessing)
"""
import tensorflow as tf
import tensorflow_transform as tft
import tf_keras

from components import features
from components.trainer import model as classifier_model


def export(classifier: tf_keras.Model, encoder, tft_output: tft.TFTransformOutput, label_names, seq_length: int,
           path: str) -> None:
    raw_spec = tft_output.raw_feature_spec()
    serving_spec = {name: spec for name, spec in raw_spec.items() if name != features.LABEL}
    classifier.tft_layer = tft_output.transform_features_layer()  # Tracked, so its assets are saved.
    classes = tf.constant(list(label_names))

    def predict(ids):
        scores = classifier(ids, training=False)
        return {"scores": scores, "classes": tf.tile(classes[tf.newaxis], [tf.shape(scores)[0], 1]),
                "label": tf.gather(classes, tf.argmax(scores, axis=-1))}

    def token_ids(transformed):
        return {name: tf.cast(transformed[name], tf.int32) for name in features.TOKEN_FEATURES}

    def transform_text(text):
        return classifier.tft_layer({features.TEXT: tf.sparse.from_dense(tf.reshape(text, [-1, 1]))})

    text_spec = tf.TensorSpec([None], tf.string, name=features.TEXT)
    examples_spec = tf.TensorSpec([None], tf.string, name="examples")

    @tf.function(input_signature=[text_spec])
    def serve_text(text):
        return predict(token_ids(transform_text(text)))

    @tf.function(input_signature=[examples_spec])
    def serve_tf_example(examples):
        return predict(token_ids(classifier.tft_layer(tf.io.parse_example(examples, serving_spec))))

    @tf.function(input_signature=[{name: tf.TensorSpec([None, seq_length], tf.int32, name=name)
                                   for name in features.TOKEN_FEATURES}])
    def serve_token_ids(ids):
        return predict(ids)

    @tf.function(input_signature=[text_spec])
    def embed(text):
        ids = token_ids(transform_text(text))
        return {"embedding": classifier_model.sentence_embedding(encoder, ids, training=False)}

    @tf.function(input_signature=[examples_spec])
    def transform_features(examples):
        return classifier.tft_layer(tf.io.parse_example(examples, raw_spec))

    classifier.save(path, save_format="tf", include_optimizer=False, signatures={
        "serving_default": serve_text, "serving_tf_example": serve_tf_example,
        "serving_token_ids": serve_token_ids, "embed": embed, "transform_features": transform_features})
