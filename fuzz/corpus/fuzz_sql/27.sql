select key from t where "Key" = 1 -- comment
