"""novalog scheduler."""
