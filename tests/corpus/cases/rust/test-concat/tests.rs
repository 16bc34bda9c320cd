let token = ["cio", "abcd"].concat();
