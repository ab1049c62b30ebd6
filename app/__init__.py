"""The application layer: the `coea` command line and what it starts. It may import every
package; nothing imports it (the import contract in pyproject.toml checks the layers)."""
