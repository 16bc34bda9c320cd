os.environ["CARGO_REGISTRY_TOKEN"] = "{{alnum:72:30}}"
