"""novalog projections."""
