token = os.environ.get("CARGO_REGISTRY_TOKEN", "")
