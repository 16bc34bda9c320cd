    env::set_var("CARGO_REGISTRY_TOKEN", "fake_token");
