"""The real page in a real headless Chromium (#11): the figures appear, match the warehouse,
and change as events load, without a reload. Screenshots at 1920x1080 and phone width are
written for a person to look at (path printed; set WALLBOARD_SCREENSHOTS to keep them)."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import orjson
import pytest
from receiver_support import ROOT, start_receiver, wait_until
from wallboard_support import Clock, at, close_app, day_bodies, load_until, served, wallboard_app
from warehouse_support import make_settings, query

import wallboard.web

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--hide-scrollbars", "--window-size=1920,1080", "--remote-debugging-pipe"]


class Browser:
    """Chromium driven over the DevTools protocol on a pipe (fd 3 in, fd 4 out)."""

    def __init__(self, url: str, profile: Path) -> None:
        to_browser, self._send_fd = os.pipe()
        self._read_fd, from_browser = os.pipe()

        def wire() -> None:  # in the child: the protocol's two descriptors
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)

        self.process = subprocess.Popen(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", url],
            preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._next = 0
        page = next(t for t in self.call("Target.getTargets")["targetInfos"]
                    if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"],
                                 flatten=True)["sessionId"]

    def call(self, method: str, session: str | None = None, **params: Any) -> Any:
        """Send one command and wait for its answer (events in between are dropped)."""
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._send_fd, orjson.dumps(message) + b"\0")
        while True:
            answer = self._receive()
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise AssertionError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def _receive(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._read_fd, 1 << 20)
            if not chunk:
                raise AssertionError("chromium closed its DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        found: dict[str, Any] = orjson.loads(message)
        return found

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", self.session, expression=expression,
                           returnByValue=True)
        return result["result"].get("value")

    def screenshot(self, path: Path, width: int, height: int, mobile: bool = False) -> Path:
        """A PNG of the page at width x height."""
        self.call("Emulation.setDeviceMetricsOverride", self.session, width=width,
                  height=height, deviceScaleFactor=1, mobile=mobile)
        time.sleep(0.5)  # the page refits on resize
        data = self.call("Page.captureScreenshot", self.session, format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        """Ask chromium to quit, then make sure it has."""
        try:
            self.call("Browser.close")
        except (AssertionError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        os.close(self._send_fd)
        os.close(self._read_fd)


def wait_for(browser: Browser, expression: str, *, timeout: float = 20.0) -> Any:
    """Poll a JavaScript expression until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = browser.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        time.sleep(0.25)


SHOWN_DIALS = """JSON.stringify(Object.fromEntries([...document.querySelectorAll(
  '#campaigns tr[data-campaign]')].map(r => [r.dataset.campaign, r.cells[1].textContent])))"""
SHOWN_OFFERED = """JSON.stringify(Object.fromEntries([...document.querySelectorAll(
  '#queues tr[data-queue]')].map(r => [r.dataset.queue, r.cells[3].textContent])))"""


def shown(browser: Browser, expression: str) -> dict[str, int]:
    table: dict[str, str] = orjson.loads(browser.evaluate(expression) or "{}")
    return {key: int(text.replace(",", "")) for key, text in table.items()}


def warehouse_dials(data: Path) -> dict[str, int]:
    """Today's dials of the outbound campaigns (the simulator's inbound one is left out)."""
    return {c: int(d) for c, d in query(
        data, "SELECT campaign, dials FROM v_campaign_daily WHERE local_day = ? "
        "AND campaign <> 'Customer_Service'", [at(10).date()])}


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the screenshots go: WALLBOARD_SCREENSHOTS, or this test's tmp_path."""
    folder = Path(os.environ.get("WALLBOARD_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser_on_wallboard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[
        tuple[Browser, Path, Clock]]:
    """A simulated morning loaded to 10:00, served for real, open in Chromium."""
    monkeypatch.setattr(wallboard.web, "CACHE_SECONDS", 0.5)
    data = tmp_path / "data"
    load_until(data, BODIES, at(0), at(10))
    clock = Clock(at(10))
    app = wallboard_app(make_settings(data), clock)
    with served(app) as url, tempfile.TemporaryDirectory() as profile:
        browser = Browser(f"{url}/wallboard", Path(profile))
        try:
            yield browser, data, clock
        finally:
            browser.close()
            close_app(app)


BODIES = day_bodies(count=5000)


def test_the_page_shows_the_warehouse_figures_and_follows_new_events_without_reload(
        browser_on_wallboard: tuple[Browser, Path, Clock], screenshots: Path) -> None:
    browser, data, clock = browser_on_wallboard
    wait_for(browser, "document.querySelectorAll('#campaigns tr[data-campaign]').length")
    assert shown(browser, SHOWN_DIALS) == warehouse_dials(data)
    assert browser.evaluate("document.getElementById('clock').textContent").startswith("10:00")
    before = shown(browser, SHOWN_OFFERED)
    browser.evaluate("window.notReloaded = true")

    load_until(data, BODIES, at(10), at(11))
    clock.moment = at(11)
    expected = warehouse_dials(data)
    deadline = time.monotonic() + 15
    while shown(browser, SHOWN_DIALS) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    assert shown(browser, SHOWN_DIALS) == expected
    after = shown(browser, SHOWN_OFFERED)
    assert after and all(after[q] > before[q] for q in before)
    assert browser.evaluate("window.notReloaded") is True
    # a poll between the load and the clock's move shows the new figures at 10:00: the next
    # one shows 11:00
    wait_for(browser, "document.getElementById('clock').textContent.startsWith('11:0')")
    assert "STALE" not in browser.evaluate("document.getElementById('freshness').textContent")

    wide = browser.screenshot(screenshots / "wallboard-1920x1080.png", 1920, 1080)
    assert browser.evaluate("document.documentElement.scrollHeight <= innerHeight")
    phone = browser.screenshot(screenshots / "wallboard-390x844.png", 390, 844, mobile=True)
    assert browser.evaluate("document.documentElement.scrollWidth <= innerWidth")  # no sideways
    # and no table cut at its section's edge: every column, ASA included, is on the screen
    assert browser.evaluate(
        "[...document.querySelectorAll('section')].map((s) => s.scrollWidth - s.clientWidth)"
    ) == [0, 0, 0]
    print(f"screenshots: {wide} {phone}")
    assert wide.stat().st_size > 10_000 and phone.stat().st_size > 10_000


def test_the_page_says_when_its_figures_are_stale(
        browser_on_wallboard: tuple[Browser, Path, Clock],
        monkeypatch: pytest.MonkeyPatch) -> None:
    browser, _, _ = browser_on_wallboard
    wait_for(browser, "document.querySelectorAll('#campaigns tr[data-campaign]').length")

    def unreadable(*args: object, **kwargs: object) -> None:
        raise duckdb.IOException("catalog unreadable")

    # the warehouse cannot be read: answers become 503; the page keeps its last figures,
    # and once they are older than 15 s it says so in red
    monkeypatch.setattr(wallboard.web, "read_figures", unreadable)
    monkeypatch.setattr(wallboard.web, "connect", unreadable)
    browser.evaluate("lastOk = Date.now() - 60000")
    text = wait_for(browser, "(t => t.includes('STALE') && t.includes('cannot') && t)"
                    "(document.getElementById('freshness').textContent)")
    assert "cannot read the warehouse: catalog unreadable" in text
    assert shown(browser, SHOWN_DIALS)  # the last figures stay up


def test_a_silent_feed_raises_the_alarm_banner_on_the_page(
        browser_on_wallboard: tuple[Browser, Path, Clock]) -> None:
    browser, _, clock = browser_on_wallboard
    wait_for(browser, "document.querySelectorAll('#campaigns tr[data-campaign]').length")
    assert browser.evaluate("document.getElementById('alarm').hidden") is True
    clock.moment = at(10, 20)  # nothing has arrived since 10:00, a Tuesday morning
    text = wait_for(browser, "!document.getElementById('alarm').hidden && "
                    "document.getElementById('alarm').textContent")
    assert text.startswith("Feed silent: ") and "SessionEnded from default" in text
    silent = browser.evaluate("document.querySelectorAll('.feed.silent').length")
    assert silent == 4


def today_dials(data: Path) -> dict[str, int]:
    """Today's dials per outbound campaign in the warehouse, as readers see it now."""
    today = datetime.now(ZoneInfo("Europe/London")).date()
    return {c: int(d) for c, d in query(
        data, "SELECT campaign, dials FROM v_campaign_daily WHERE local_day = ? "
        "AND campaign <> 'Customer_Service'", [today])}


def test_the_page_on_serve_fed_by_the_simulator_follows_the_warehouse(
        tmp_path: Path, screenshots: Path) -> None:
    """`genius-wh serve` (receiver, scheduler batching every second, wallboard) fed by
    `genius-wh simulate --url`: the page's dials grow as the events arrive, without a reload,
    and settle on the warehouse's figures."""
    data = tmp_path / "data"
    server = start_receiver(data, scheduler=True, batch_interval_seconds="1",
                            timezone="Europe/London")
    sender_log = tmp_path / "simulate.log"
    with sender_log.open("wb") as log:
        sender = subprocess.Popen(
            [sys.executable, "-m", "orchestration", "--data-dir", str(tmp_path / "sender"),
             "simulate", "--url", f"{server.url}/", "--rate", "150", "--count", "2400",
             "--seed", "5"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    try:
        with tempfile.TemporaryDirectory() as profile:
            browser = Browser(f"{server.url}/wallboard", Path(profile))
            try:
                wait_for(browser, "document.querySelectorAll('#campaigns tr[data-campaign]')"
                         ".length", timeout=60)
                browser.evaluate("window.notReloaded = true")
                early = sum(shown(browser, SHOWN_DIALS).values())
                assert sender.wait(timeout=120) == 0, sender_log.read_text()
                settled = wait_until(
                    lambda: (lambda page, wh: page == wh and wh)(
                        shown(browser, SHOWN_DIALS), today_dials(data)),
                    timeout=60, what="the page to show the warehouse's dials")
                assert sum(settled.values()) > early
                assert browser.evaluate("window.notReloaded") is True
                wide = browser.screenshot(screenshots / "wallboard-serve-1920x1080.png",
                                          1920, 1080)
                print(f"screenshot: {wide}")
            finally:
                browser.close()
    finally:
        if sender.poll() is None:
            sender.kill()
        server.stop()
