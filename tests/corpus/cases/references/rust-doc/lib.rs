/// Reads `CARGO_REGISTRY_TOKEN` from the environment.
