import requests
from processes import gunicorn


def test_gunicorn_serves_mything_configured_from_the_environment(tmp_path):
    uri = f"sqlite:///{tmp_path / 'served.db'}"
    env = {"MYTHING_DATABASE_URI": uri}
    with gunicorn("mything:MyThing()", env=env, cwd=tmp_path) as url:
        response = requests.get(url + "/add", params={"a": 1, "b": 2}, timeout=5)
        ready = requests.get(url + "/readyz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"sum": 3}
    assert ready.json() == {"status": "ok"}
    assert (tmp_path / "served.db").exists()
