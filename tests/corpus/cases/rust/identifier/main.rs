let cio_token = ciotoken_from_env(); // cio
