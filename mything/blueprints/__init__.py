"""mything's endpoints, one module per resource.

:func:`mything.app.register_blueprints` registers every module here that has
a ``blueprint`` attribute, so adding an endpoint means adding a module. Views
stay thin: validate at the edge, call one function of
:mod:`mything.operations`, return an :class:`~mything.results.ApiResult`.
"""
