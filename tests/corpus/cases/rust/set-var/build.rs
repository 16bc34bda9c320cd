std::env::set_var("CARGO_REGISTRY_TOKEN", "{{alnum:65:30}}");
