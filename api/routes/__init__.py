"""The API's routes, one module per resource family; each gives a router for `create_app`."""
