export CARGO_REGISTRY_TOKEN="{{api:46}}"
