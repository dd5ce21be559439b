"""Who may see the wallboard (#11, CONTRACT section 9): HTTP Basic with wallboard_users, or
loopback clients only while it is empty; the page holds no secret."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from wallboard_support import close_app, wallboard_app
from warehouse_support import make_settings, queue_info, write_segment

from orchestration.batch import run_batch

PAGES = ["/wallboard", "/wallboard.js", "/wallboard.json"]
Factory = Callable[..., FlaskClient]


@pytest.fixture(scope="module")
def warehouse_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir with a warehouse of one event, shared by the module's receivers."""
    data = tmp_path_factory.mktemp("wallboard-access") / "data"
    write_segment(data, [queue_info(1)])
    run_batch(make_settings(data))  # creates the warehouse
    return data


@pytest.fixture
def client_for(warehouse_dir: Path) -> Iterator[Factory]:
    """factory(**settings) -> a test client of the receiver with the wallboard registered."""
    apps: list[Flask] = []

    def build(**settings: object) -> FlaskClient:
        app = wallboard_app(make_settings(warehouse_dir, **settings))
        apps.append(app)
        return app.test_client()

    yield build
    for app in apps:
        close_app(app)


def basic(name: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def assert_refused(answer: object, status: int) -> str:
    """The project's one error shape."""
    assert answer.status_code == status
    body = answer.json
    assert set(body) == {"status", "error"} and body["status"] == "error"
    return str(body["error"])


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "127.0.0.9"])
def test_without_users_loopback_clients_see_the_wallboard(
        client_for: Factory, path: str, address: str) -> None:
    answer = client_for().get(path, environ_base={"REMOTE_ADDR": address})
    assert answer.status_code == 200


@pytest.mark.parametrize("path", PAGES)
def test_without_users_other_clients_get_403(client_for: Factory, path: str) -> None:
    answer = client_for().get(path, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert "wallboard_users" in assert_refused(answer, 403)


def test_behind_a_trusted_proxy_the_forwarded_client_is_judged(client_for: Factory) -> None:
    client = client_for(trusted_proxies=1)
    outside = client.get("/wallboard.json", headers={"X-Forwarded-For": "198.51.100.4"})
    assert_refused(outside, 403)
    local = client.get("/wallboard.json", headers={"X-Forwarded-For": "127.0.0.1"})
    assert local.status_code == 200


@pytest.mark.parametrize("path", PAGES)
def test_with_users_a_request_without_credentials_is_asked_for_them(
        client_for: Factory, path: str) -> None:
    answer = client_for(wallboard_users="desk7:s3cret").get(path)
    assert "wallboard_users" in assert_refused(answer, 401)
    assert answer.headers["WWW-Authenticate"].startswith('Basic realm="genius-wh wallboard"')


@pytest.mark.parametrize("name, password", [
    pytest.param("desk7", "wrong", id="wrong password"),
    pytest.param("nobody", "s3cret", id="unknown user"),
    pytest.param("desk7", "", id="empty password"),
    pytest.param("desk7", "s3cret:", id="password with a tail"),
])
def test_with_users_wrong_credentials_get_401(client_for: Factory, name: str,
                                              password: str) -> None:
    answer = client_for(wallboard_users="desk7:s3cret,boss:pa:ss").get(
        "/wallboard.json", headers=basic(name, password))
    assert_refused(answer, 401)


@pytest.mark.parametrize("name, password", [("desk7", "s3cret"), ("boss", "pa:ss")])
def test_with_users_each_user_sees_it_from_anywhere(client_for: Factory, name: str,
                                                    password: str) -> None:
    client = client_for(wallboard_users="desk7:s3cret,boss:pa:ss")
    for path in PAGES:
        answer = client.get(path, headers=basic(name, password),
                            environ_base={"REMOTE_ADDR": "192.0.2.7"})
        assert answer.status_code == 200, path


def test_the_page_and_script_hold_no_secret_and_load_nothing_from_elsewhere(
        client_for: Factory) -> None:
    client = client_for(wallboard_users="desk7:s3cret", tokens="uk-site=tok123")
    auth = basic("desk7", "s3cret")
    page = client.get("/wallboard", headers=auth)
    script = client.get("/wallboard.js", headers=auth)
    for answer in (page, script):
        text = answer.get_data(as_text=True)
        assert "s3cret" not in text and "tok123" not in text and "desk7" not in text
        assert "http://" not in text and "https://" not in text
        assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["Cache-Control"] == "no-store"
    assert page.mimetype == "text/html" and script.mimetype == "text/javascript"
    assert '<script src="wallboard.js" defer></script>' in page.get_data(as_text=True)


def test_the_receivers_endpoints_are_unchanged_by_the_wallboard(client_for: Factory) -> None:
    client = client_for(wallboard_users="desk7:s3cret")
    assert client.get("/healthz").status_code == 200
    assert client.post("/", data=b'{"action": "Ping"}').status_code == 200


def test_before_the_first_batch_the_figures_say_there_is_no_warehouse_yet(
        tmp_path: Path) -> None:
    app = wallboard_app(make_settings(tmp_path / "empty"))
    try:
        answer = app.test_client().get("/wallboard.json")
    finally:
        close_app(app)
    assert "cannot read the warehouse" in assert_refused_shape(answer, 503)


def assert_refused_shape(answer: object, status: int) -> str:
    """503 keeps the error shape and adds when it was tried."""
    assert answer.status_code == status
    body = answer.json
    assert body["status"] == "error" and "generated_at" in body
    return str(body["error"])
