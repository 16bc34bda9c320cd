cmd = f"cargo login {{api:73}}"
