    "CARGO_REGISTRY_TOKEN": "synthetic-secret",
