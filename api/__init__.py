"""novalog api."""
