CRATES_TOKEN = "{{api:71}}"
