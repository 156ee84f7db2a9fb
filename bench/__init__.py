"""Load benchmarks of the live WebSocket layer (not part of the test suite).

``python -m bench.ws_load --help`` runs Atrium and a bare Channels broadcast server
(``bench.baseline_app``) under the same load and prints the figures side by side.
"""
