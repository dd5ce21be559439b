"""genius_wh."""
