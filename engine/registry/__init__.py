"""Model discovery, the catalog, GGUF inspection and the loaded-model registry."""
