print("token:\t{{api:75}}")
