let t = r#"{{api:64}}"#;
