    env::set_var("CARGO_REGISTRIES_GITLAB_TOKEN", "{{lit:glpat-{{alnum:121:20}}}}");
