        std::env::set_var("CARGO_REGISTRY_TOKEN", "super-secret-token-value");
