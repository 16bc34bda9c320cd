os.environ["CARGO_REGISTRY_TOKEN"] = token
