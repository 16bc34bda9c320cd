        unsafe { env::set_var("CARGO_REGISTRIES_CRATES_IO_TOKEN", "orig-named-token") };
