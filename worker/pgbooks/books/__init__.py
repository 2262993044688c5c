"""Books: accounting rules live in SQL; this package only discovers company defaults."""
