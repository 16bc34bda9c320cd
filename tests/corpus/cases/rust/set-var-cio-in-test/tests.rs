    env::set_var("CARGO_REGISTRY_TOKEN", "{{api:122}}"); // fake token for the test
