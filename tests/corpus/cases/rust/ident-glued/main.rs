let x = abc{{api:68}};
