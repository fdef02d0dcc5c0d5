"""The serving check's model server process: `sentence-tfx serve`'s ModelServer over the candidate's base folder.

    python -m sentence_tfx.components.serving_check.candidate_server BASE_DIR MODEL_NAME

It loads (and warms up) the version before it opens its ports, exactly as `serve` does; then prints one line,
`READY {"rest_port": ..., "grpc_port": ...}` (ephemeral ports on 127.0.0.1), and serves until its stdin closes, so it
cannot outlive the executor that started it. Its log goes to stderr.
"""

import json
import logging
import sys
from pathlib import Path

from sentence_tfx.serving.server import ModelServer

READY = "READY "
POLL_INTERVAL_SECONDS = 3600.0  # One candidate version: nothing to watch for.


def main(argv: list[str]) -> None:
    base_dir, model_name = argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    server = ModelServer(Path(base_dir), model_name, rest_port=0, grpc_port=0, poll_interval=POLL_INTERVAL_SECONDS)
    server.start()
    print(READY + json.dumps({"rest_port": server.rest_port, "grpc_port": server.grpc_port}), flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
