"""deploy/serve-deployment.yaml stays true: its probe paths answer as it says, its arguments are `serve` options, and
its grace period covers the drain."""

import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from pathlib import Path

import httpx
import yaml

from sentence_tfx.pipeline.cli import build_parser
from sentence_tfx.serving.server import GRACE_SECONDS

MANIFEST = Path(__file__).resolve().parents[1] / "deploy" / "serve-deployment.yaml"


def _container() -> tuple[dict, dict]:
    pod = yaml.safe_load(MANIFEST.read_text())["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return pod, container


def test_the_arguments_are_serve_options_and_the_grace_period_covers_the_drain():
    pod, container = _container()
    args = build_parser().parse_args(container["args"])
    assert args.command == "serve" and args.enable_batching and args.host == "0.0.0.0"
    assert pod["terminationGracePeriodSeconds"] > args.drain_seconds + GRACE_SECONDS
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": args.rest_port, "grpc": args.grpc_port}


def test_the_probes_answer(server):
    _, container = _container()
    with httpx.Client(base_url=f"http://127.0.0.1:{server.rest_port}", timeout=30) as client:
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert client.get(container[probe]["httpGet"]["path"]).status_code == 200, probe
        metrics_path = yaml.safe_load(MANIFEST.read_text())["spec"]["template"]["metadata"]["annotations"]
        assert client.get(metrics_path["prometheus.io/path"]).status_code == 200
