"""Small pieces every app shares: the one way to show an error's first line, the read-only admin."""
