"""Reads a sentence-transformers model folder into plain Python/numpy: configs, weights, tokenizer rules.

Only the parts that decide the embedding are kept: the BERT weights (the unused pooler is dropped), the pooling
mode, optional Dense modules, whether Normalize is listed, and the exact HF BERT tokenizer settings.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np

from sentence_tfx.encoder import weights
from sentence_tfx.errors import InputError

SUPPORTED_ARCHITECTURES = ("bert",)  # MiniLM checkpoints are BertModel with model_type "bert".
SUPPORTED_POOLING_MODES = ("cls", "mean", "max", "mean_sqrt_len")
_MODULES = "sentence_transformers.models."
SUPPORTED_MODULES = tuple(_MODULES + m for m in ("Transformer", "Pooling", "Dense", "Normalize"))
_ACTIVATIONS = {
    "torch.nn.modules.linear.Identity": "linear",
    "torch.nn.modules.activation.Tanh": "tanh",
    "torch.nn.modules.activation.ReLU": "relu",
    "torch.nn.modules.activation.Sigmoid": "sigmoid",
}


class UnsupportedModelError(InputError):
    """The model folder holds something this converter cannot reproduce exactly."""


@dataclasses.dataclass(frozen=True)
class BertConfig:
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_positions: int
    type_vocab_size: int
    hidden_dropout: float
    attention_dropout: float
    layer_norm_eps: float

    @classmethod
    def from_hf(cls, config: dict, source: Path) -> "BertConfig":
        model_type = config.get("model_type", "?")
        if model_type not in SUPPORTED_ARCHITECTURES:
            raise UnsupportedModelError(
                f"{source}: architecture {model_type!r} ({', '.join(config.get('architectures', []))}) is not "
                f"supported; supported: {', '.join(SUPPORTED_ARCHITECTURES)} (BERT, MiniLM)"
            )
        if (
            config.get("hidden_act", "gelu") != "gelu"
            or config.get("position_embedding_type", "absolute") != "absolute"
        ):
            raise UnsupportedModelError(
                f"{source}: hidden_act={config.get('hidden_act')!r}, position_embedding_type="
                f"{config.get('position_embedding_type')!r}; supported: gelu with absolute positions"
            )
        return cls(
            vocab_size=config["vocab_size"],
            hidden_size=config["hidden_size"],
            num_layers=config["num_hidden_layers"],
            num_heads=config["num_attention_heads"],
            intermediate_size=config["intermediate_size"],
            max_positions=config["max_position_embeddings"],
            type_vocab_size=config.get("type_vocab_size", 2),
            hidden_dropout=config.get("hidden_dropout_prob", 0.1),
            attention_dropout=config.get("attention_probs_dropout_prob", 0.1),
            layer_norm_eps=config.get("layer_norm_eps", 1e-12),
        )


@dataclasses.dataclass(frozen=True)
class TokenizerSpec:
    """The HF BERT tokenizer's behaviour (BertNormalizer + BertPreTokenizer + WordPiece), as data."""

    vocab_file: Path
    vocab: tuple[str, ...]
    lowercase: bool
    strip_accents: bool | None  # None: strip when lower-casing, as HF does.
    handle_chinese_chars: bool
    clean_text: bool
    unk_token: str
    cls_token: str
    sep_token: str
    pad_token: str
    special_tokens: tuple[str, ...]  # Matched in raw text before normalization (HF "added tokens").
    max_input_chars_per_word: int = 100
    continuing_subword_prefix: str = "##"

    def token_id(self, token: str) -> int:
        return self.vocab.index(token)


@dataclasses.dataclass(frozen=True)
class DenseLayer:
    kernel: np.ndarray  # [in, out]
    bias: np.ndarray | None
    activation: str


@dataclasses.dataclass(frozen=True)
class SentenceTransformerModel:
    path: Path
    bert: BertConfig
    bert_weights: dict[str, np.ndarray]  # HF BertModel names without a "bert." prefix.
    pooling_modes: tuple[str, ...]
    dense_layers: tuple[DenseLayer, ...]
    normalize: bool
    max_seq_length: int
    tokenizer: TokenizerSpec

    @property
    def embedding_dim(self) -> int:
        if self.dense_layers:
            return self.dense_layers[-1].kernel.shape[1]
        return self.bert.hidden_size * len(self.pooling_modes)


def _read_json(path: Path, default=None):
    if not path.exists():
        if default is not None:
            return default
        raise UnsupportedModelError(f"{path} is missing: not a sentence-transformers model folder?")
    return json.loads(path.read_text(encoding="utf-8"))


def _read_weights(folder: Path, prefix: str = "") -> dict[str, np.ndarray]:
    if (folder / "model.safetensors").exists():
        tensors = weights.read_safetensors(folder / "model.safetensors")
    elif (folder / "pytorch_model.bin").exists():
        tensors = weights.read_pytorch_bin(folder / "pytorch_model.bin")
    else:
        raise UnsupportedModelError(f"{folder}: neither model.safetensors nor pytorch_model.bin found")
    return {name[len(prefix) :]: value for name, value in tensors.items() if name.startswith(prefix)}


def _read_tokenizer(folder: Path) -> TokenizerSpec:
    vocab = tuple((folder / "vocab.txt").read_text(encoding="utf-8").split("\n"))
    vocab = vocab[:-1] if vocab and vocab[-1] == "" else vocab
    first_line = {}
    for line, token in enumerate(vocab, start=1):
        if first_line.setdefault(token, line) != line:
            raise UnsupportedModelError(
                f"{folder / 'vocab.txt'}: line {line} repeats the token {token!r} of line "
                f"{first_line[token]}; token ids would be ambiguous"
            )
    config = _read_json(folder / "tokenizer_config.json", default={})
    special = _read_json(folder / "special_tokens_map.json", default={})

    def token(name, fallback):
        value = config.get(name) or special.get(name) or fallback
        return value["content"] if isinstance(value, dict) else value

    settings = dict(
        lowercase=config.get("do_lower_case", True),
        strip_accents=config.get("strip_accents"),
        handle_chinese_chars=config.get("tokenize_chinese_chars", True),
        clean_text=True,
    )
    unk = token("unk_token", "[UNK]")
    specials = [
        token(n, d)
        for n, d in (
            ("unk_token", "[UNK]"),
            ("sep_token", "[SEP]"),
            ("pad_token", "[PAD]"),
            ("cls_token", "[CLS]"),
            ("mask_token", "[MASK]"),
        )
    ]
    max_chars = 100
    if (folder / "tokenizer.json").exists():
        fast = _read_json(folder / "tokenizer.json")
        parts = {
            "normalizer": fast.get("normalizer") or {},
            "pre_tokenizer": fast.get("pre_tokenizer") or {},
            "model": fast.get("model") or {},
        }
        found = {k: v.get("type") for k, v in parts.items()}
        if found != {"normalizer": "BertNormalizer", "pre_tokenizer": "BertPreTokenizer", "model": "WordPiece"}:
            raise UnsupportedModelError(
                f"{folder / 'tokenizer.json'}: tokenizer {found} is not supported; supported: BertNormalizer + "
                "BertPreTokenizer + WordPiece (the BERT WordPiece tokenizer)"
            )
        normalizer = parts["normalizer"]
        settings = {key: normalizer.get(key, settings[key]) for key in settings}
        unk = parts["model"].get("unk_token", unk)
        max_chars = parts["model"].get("max_input_chars_per_word", max_chars)
        if parts["model"].get("continuing_subword_prefix", "##") != "##":
            raise UnsupportedModelError(f"{folder}: WordPiece continuing_subword_prefix must be '##'")
        added = fast.get("added_tokens") or []
        unsupported = [
            t["content"]
            for t in added
            if t.get("normalized") or t.get("lstrip") or t.get("rstrip") or t.get("single_word")
        ]
        if unsupported:
            raise UnsupportedModelError(
                f"{folder}: added tokens {unsupported} use normalized/lstrip/rstrip/"
                "single_word matching, which is not supported"
            )
        specials = [t["content"] for t in added] or specials
    return TokenizerSpec(
        vocab_file=folder / "vocab.txt",
        vocab=vocab,
        unk_token=unk,
        cls_token=token("cls_token", "[CLS]"),
        sep_token=token("sep_token", "[SEP]"),
        pad_token=token("pad_token", "[PAD]"),
        special_tokens=tuple(dict.fromkeys(t for t in specials if t in vocab)),
        max_input_chars_per_word=max_chars,
        **settings,
    )


def _read_pooling(folder: Path) -> tuple[str, ...]:
    config = _read_json(folder / "config.json")
    enabled = [
        k[len("pooling_mode_") :].removesuffix("_token").removesuffix("_tokens")
        for k, v in config.items()
        if k.startswith("pooling_mode") and v
    ]
    unsupported = [m for m in enabled if m not in SUPPORTED_POOLING_MODES]
    if unsupported or not enabled:
        raise UnsupportedModelError(
            f"{folder}: pooling modes {enabled or 'none'} are not supported; supported: "
            f"{', '.join(SUPPORTED_POOLING_MODES)}"
        )
    order = ("cls", "max", "mean", "mean_sqrt_len")  # The concatenation order sentence-transformers uses.
    return tuple(sorted(enabled, key=order.index))


def _read_dense(folder: Path) -> DenseLayer:
    config = _read_json(folder / "config.json")
    activation = config.get("activation_function", "torch.nn.modules.activation.Tanh")
    if activation not in _ACTIVATIONS:
        raise UnsupportedModelError(
            f"{folder}: Dense activation {activation} is not supported; supported: {', '.join(_ACTIVATIONS)}"
        )
    tensors = _read_weights(folder)
    bias = tensors.get("linear.bias") if config.get("bias", True) else None
    return DenseLayer(
        kernel=tensors["linear.weight"].T.astype(np.float32),
        bias=None if bias is None else bias.astype(np.float32),
        activation=_ACTIVATIONS[activation],
    )


def load(path: str | Path) -> SentenceTransformerModel:
    """Reads a sentence-transformers folder; raises UnsupportedModelError naming what it cannot convert."""
    root = Path(path)
    modules = _read_json(root / "modules.json")
    unknown = [m["type"] for m in modules if m["type"] not in SUPPORTED_MODULES]
    if unknown:
        raise UnsupportedModelError(
            f"{root / 'modules.json'}: modules {unknown} are not supported; supported: "
            f"{', '.join(m.split('.')[-1] for m in SUPPORTED_MODULES)}"
        )
    kinds = [m["type"][len(_MODULES) :] for m in modules]
    tail = kinds[2:]
    if (
        kinds[:2] != ["Transformer", "Pooling"]
        or tail != sorted(tail, key=("Dense", "Normalize").index)
        or tail.count("Normalize") > 1
    ):
        raise UnsupportedModelError(
            f"{root}: module order {kinds} is not supported; supported: Transformer, "
            "Pooling, then Dense modules, then Normalize"
        )
    transformer_dir = root / modules[0].get("path", "")
    hf_config = _read_json(transformer_dir / "config.json")
    bert = BertConfig.from_hf(hf_config, transformer_dir)
    st_config = _read_json(transformer_dir / "sentence_bert_config.json", default={})
    if st_config.get("do_lower_case"):
        raise UnsupportedModelError(
            f"{transformer_dir}: sentence_bert_config do_lower_case=true (Python "
            "str.lower() before tokenizing) is not supported"
        )
    tensors = _read_weights(transformer_dir)
    prefix = "bert." if any(k.startswith("bert.") for k in tensors) else ""
    bert_weights = {
        k[len(prefix) :]: v.astype(np.float32)
        for k, v in tensors.items()
        if k.startswith(prefix) and not k[len(prefix) :].startswith("pooler.") and not k.endswith("position_ids")
    }
    tokenizer = _read_tokenizer(transformer_dir)
    if len(tokenizer.vocab) != bert.vocab_size:
        raise UnsupportedModelError(
            f"{transformer_dir}: vocab.txt has {len(tokenizer.vocab)} tokens but the "
            f"model's vocab_size is {bert.vocab_size}"
        )
    max_seq_length = min(st_config.get("max_seq_length") or bert.max_positions, bert.max_positions)
    return SentenceTransformerModel(
        path=root,
        bert=bert,
        bert_weights=bert_weights,
        pooling_modes=_read_pooling(root / modules[1]["path"]),
        dense_layers=tuple(_read_dense(root / m["path"]) for m, k in zip(modules, kinds) if k == "Dense"),
        normalize="Normalize" in kinds,
        max_seq_length=max_seq_length,
        tokenizer=tokenizer,
    )
