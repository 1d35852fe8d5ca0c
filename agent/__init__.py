"""novalog agent."""
