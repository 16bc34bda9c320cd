    env::set_var("CARGO_REGISTRY_TOKEN", "fake-{{api:123}}");
