"""Reads of matters' plans, filtered by what the viewer may see."""
