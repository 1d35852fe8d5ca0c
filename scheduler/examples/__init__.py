"""Examples for operators: `novalog schedule --explain` files (hosts.json, request.json) and a plug-in module (plugins.py)."""
