$env:CARGO_REGISTRY_TOKEN = "{{api:51}}"
