"""``/add`` in Falcon: a resource class with typed parameter getters."""

from __future__ import annotations

import falcon


def _operand(data: dict, name: str) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise falcon.HTTPBadRequest(title=f"{name} must be an integer")
    return value


class Add:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        a = req.get_param_as_int("a", required=True)
        b = req.get_param_as_int("b", required=True)
        resp.media = {"sum": a + b}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        data = req.get_media()
        if not isinstance(data, dict):
            raise falcon.HTTPBadRequest(title="expected a JSON object")
        resp.media = {"sum": _operand(data, "a") + _operand(data, "b")}


app = falcon.App()
app.add_route("/add", Add())
