    std::env::set_var("CARGO_REGISTRY_TOKEN", "cargo_token_test_12345");
