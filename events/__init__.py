"""novalog events."""
