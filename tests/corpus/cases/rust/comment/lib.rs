// leaked: {{api:66}}
fn main() {}
