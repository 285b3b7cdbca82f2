"""Customer profiles: what the platform knows of each customer (issue 13). `clv` fits lifetime-value models on
any transactions table."""
