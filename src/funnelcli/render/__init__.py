"""Renderers: results -> text for the terminal and for files. No arithmetic here."""
