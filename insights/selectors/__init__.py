"""Reads of the adoption metrics: the figures (``adoption``), the records behind them
(``records``) and the status phrases (``phrases``)."""
