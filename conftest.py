"""Shared test fixtures: the tiny test encoder (seconds) and the real all-MiniLM-L6-v2 export (cached)."""

import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import pytest

TINY_SEQ_LENGTH = 16


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from sentence_tfx.encoder import tiny

    return tiny.write(tmp_path_factory.mktemp("tiny_st"))


@pytest.fixture(scope="session")
def tiny_export(tiny_model_dir, tmp_path_factory):
    from sentence_tfx.encoder import export

    out = tmp_path_factory.mktemp("tiny_export")
    export.export(out, tiny_model_dir, seq_length=TINY_SEQ_LENGTH)
    return out


@pytest.fixture(scope="session")
def minilm_export():
    """The default encoder, converted once per machine (the cache is keyed by the source's content hash)."""
    from sentence_tfx.encoder import export

    return export.cached_export()


@pytest.fixture(scope="session")
def free_ports():
    """free_ports(n) → n distinct TCP ports on 127.0.0.1 that nothing listens on right now."""
    from sentence_tfx.pipeline import beam_services

    return beam_services.free_ports


class HeadlessChromium:
    """Debian's chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: commands in on fd 3,
    answers and events out on fd 4), with scripts disabled and every host name unresolvable."""

    def __init__(self, binary: str, profile_dir):
        import os
        import subprocess

        commands_read, self._commands = os.pipe()
        self._answers, answers_write = os.pipe()

        def pipes_at_3_and_4():
            os.dup2(commands_read, 3)
            os.dup2(answers_write, 4)

        flags = ["--headless", "--disable-gpu", "--no-first-run", "--remote-debugging-pipe", "--hide-scrollbars"]
        # No network: names resolve to nothing and any proxy use goes nowhere; requests are still *attempted* and
        # seen by Network.requestWillBeSent, which is what the tests count.
        flags += [
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            f"--user-data-dir={profile_dir}",
        ]
        self.process = subprocess.Popen(
            [binary, *flags, *(["--no-sandbox"] if os.getuid() == 0 else []), "about:blank"],
            preexec_fn=pipes_at_3_and_4,
            pass_fds=(3, 4),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands_read)
        os.close(answers_write)
        self._buffer, self._next_id, self.events = b"", 0, []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        import json
        import os

        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        os.write(
            self._commands, json.dumps({**message, **({"sessionId": session} if session else {})}).encode() + b"\0"
        )
        while True:
            answer = self._read()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]

    def wait_for(self, method: str) -> dict:
        while not any(event["method"] == method for event in self.events):
            self._read()
        return next(event for event in self.events if event["method"] == method)

    def _read(self) -> dict:
        import json
        import os

        while b"\0" not in self._buffer:
            chunk = os.read(self._answers, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        answer = json.loads(message)
        if "method" in answer:
            self.events.append(answer)
        return answer

    def close(self):
        import os

        os.close(self._commands)
        self.process.terminate()
        self.process.wait(timeout=30)
        os.close(self._answers)


@pytest.fixture(scope="session")
def open_in_chromium(tmp_path_factory):
    """open_in_chromium(html_path, screenshot_path) → (page facts from the DOM, URLs the page requested): the page as
    real headless Chromium lays it out with JavaScript off; a full-page screenshot is saved as a test artifact.
    Debian's chromium (tests/install_chromium.sh; `make test` runs it)."""
    import base64
    import json
    import os
    import shutil
    from pathlib import Path

    binary = shutil.which("chromium")
    if not binary:
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium (make test runs tests/install_chromium.sh)")
        pytest.skip("no chromium here: bash tests/install_chromium.sh")
    browser = HeadlessChromium(binary, tmp_path_factory.mktemp("chromium-profile"))

    def open_page(html_path, screenshot_path):
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        browser.events.clear()
        for method, params in (
            ("Network.enable", {}),
            ("Page.enable", {}),
            ("Emulation.setScriptExecutionDisabled", {"value": True}),
            (
                "Emulation.setDeviceMetricsOverride",
                {"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            ),
        ):
            browser.send(method, params, session)
        browser.send("Page.navigate", {"url": Path(html_path).resolve().as_uri()}, session)
        browser.wait_for("Page.loadEventFired")
        facts = browser.send("Runtime.evaluate", {"expression": PAGE_FACTS_SCRIPT, "returnByValue": True}, session)
        size = browser.send("Page.getLayoutMetrics", {}, session)["cssContentSize"]
        shot = browser.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
            },
            session,
        )
        Path(screenshot_path).parent.mkdir(parents=True, exist_ok=True)
        Path(screenshot_path).write_bytes(base64.b64decode(shot["data"]))
        requested = [
            e["params"]["request"]["url"] for e in browser.events if e["method"] == "Network.requestWillBeSent"
        ]
        browser.send("Target.closeTarget", {"targetId": target})
        return json.loads(facts["result"]["value"]), requested

    yield open_page
    browser.close()


# What the tests check of a laid-out page: each section's text and charts (size, drawn elements), images, scripts.
PAGE_FACTS_SCRIPT = """JSON.stringify({
  sections: [...document.querySelectorAll('section')].map(section => ({
    id: section.id,
    height: section.getBoundingClientRect().height,
    text: section.innerText,
    charts: [...section.querySelectorAll('svg.chart')].map(chart => ({
      title: chart.querySelector('title').textContent,
      width: chart.getBoundingClientRect().width,
      height: chart.getBoundingClientRect().height,
      drawn: chart.querySelectorAll('path, rect, text, use').length,
    })),
  })),
  images: [...document.images].map(image => ({src: image.src, loaded: image.complete && image.naturalWidth > 0})),
  scripts: document.scripts.length,
})"""
