println!("{}", "{{api:67}}");
