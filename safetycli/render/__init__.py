"""Output renderers. Every piece of user or YAML text goes through `safe` before it is shown."""
