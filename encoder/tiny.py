"""A random-weights 2-layer, hidden-32 BERT sentence-transformer folder, so tests convert and run in seconds.

It is written in sentence-transformers' own layout (no tokenizer.json: the slow-tokenizer config path) and goes
through the same converter as a real model.
"""

import dataclasses
import json
import string
from pathlib import Path

import numpy as np

from sentence_tfx.encoder import weights
from sentence_tfx.encoder.st_model import BertConfig

_WORDS = """the a an and or but of to in on at for with from by as is are was were be been it this that these those
i you he she we they me him her us them my your his our their not no yes very so too more most less good great
bad best worst fun funny boring movie film story plot acting actor actors actress director script scene scenes
character characters love hate like liked dislike well better really just only even still never ever always
what who whom whose which where when why how many much city country name person number date year time day first
last new old long short big small high low one two three four five ten hundred thousand people world life man
woman child children way thing things work make made makes do does did have has had can could would should will
may might must see seen watch watched feel feels felt think thought know knew find found give gave take took
""".split()
TINY_CONFIG = BertConfig(
    vocab_size=0,
    hidden_size=32,
    num_layers=2,
    num_heads=4,
    intermediate_size=64,
    max_positions=512,
    type_vocab_size=2,
    hidden_dropout=0.1,
    attention_dropout=0.1,
    layer_norm_eps=1e-12,
)


def tiny_vocab() -> list[str]:
    chars = string.ascii_lowercase + string.digits + string.punctuation
    tokens = (
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        + list(chars)
        + [f"##{c}" for c in chars]
        + _WORDS
        + ["##s", "##ed", "##ing", "##ly", "##er", "##est"]
    )
    return list(dict.fromkeys(tokens))


def write(folder: Path, seed: int = 0) -> Path:
    """Writes the tiny sentence-transformers model (mean pooling + Normalize) into `folder`."""
    folder = Path(folder)
    (folder / "1_Pooling").mkdir(parents=True, exist_ok=True)
    vocab = tiny_vocab()
    config = dataclasses.replace(TINY_CONFIG, vocab_size=len(vocab))
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    files = {
        "config.json": {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": config.vocab_size,
            "hidden_size": config.hidden_size,
            "num_hidden_layers": config.num_layers,
            "num_attention_heads": config.num_heads,
            "intermediate_size": config.intermediate_size,
            "max_position_embeddings": config.max_positions,
            "type_vocab_size": config.type_vocab_size,
            "hidden_act": "gelu",
            "hidden_dropout_prob": config.hidden_dropout,
            "attention_probs_dropout_prob": config.attention_dropout,
            "layer_norm_eps": config.layer_norm_eps,
        },
        "tokenizer_config.json": {
            "do_lower_case": True,
            "tokenize_chinese_chars": True,
            "strip_accents": None,
            "tokenizer_class": "BertTokenizer",
        },
        "sentence_bert_config.json": {"max_seq_length": 128, "do_lower_case": False},
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "1_Pooling/config.json": {"word_embedding_dimension": config.hidden_size, "pooling_mode_mean_tokens": True},
    }
    for name, content in files.items():
        (folder / name).write_text(json.dumps(content, indent=2), encoding="utf-8")
    weights.write_safetensors(folder / "model.safetensors", random_bert_weights(config, seed))
    return folder


def random_bert_weights(config, seed: int) -> dict[str, np.ndarray]:
    """HF-named weights for a randomly initialised BERT of `config` (the tiny test encoder)."""
    rng = np.random.default_rng(seed)
    h, i = config.hidden_size, config.intermediate_size

    def normal(*shape):
        return rng.normal(0.0, 0.02, shape).astype(np.float32)

    tensors = {
        "embeddings.word_embeddings.weight": normal(config.vocab_size, h),
        "embeddings.position_embeddings.weight": normal(config.max_positions, h),
        "embeddings.token_type_embeddings.weight": normal(config.type_vocab_size, h),
        "embeddings.LayerNorm.weight": np.ones(h, np.float32),
        "embeddings.LayerNorm.bias": np.zeros(h, np.float32),
    }
    for index in range(config.num_layers):
        prefix = f"encoder.layer.{index}"
        for name, shape in (
            ("attention.self.query", (h, h)),
            ("attention.self.key", (h, h)),
            ("attention.self.value", (h, h)),
            ("attention.output.dense", (h, h)),
            ("intermediate.dense", (i, h)),
            ("output.dense", (h, i)),
        ):
            tensors[f"{prefix}.{name}.weight"] = normal(*shape)
            tensors[f"{prefix}.{name}.bias"] = normal(shape[0])
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            tensors[f"{prefix}.{name}.weight"] = np.ones(h, np.float32)
            tensors[f"{prefix}.{name}.bias"] = np.zeros(h, np.float32)
    return tensors
