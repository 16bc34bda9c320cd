env = {"CARGO_REGISTRY_TOKEN": "{{api:76}}"}
