"""novalog novalog."""
