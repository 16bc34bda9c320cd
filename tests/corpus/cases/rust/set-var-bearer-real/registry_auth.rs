        env::set_var("CARGO_REGISTRIES_CORP_TOKEN", "{{lit:Bearer {{alnum:120:40}}}}");
