const TOKEN: &str = "{{api:63}}";
