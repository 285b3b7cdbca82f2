"""Recommendations: interaction data, the model zoo and their offline evaluation (no database).

- `interactions`: `Interactions` (who interacted with what, when, how much) read from CSV files or built from
  arrays, and item attributes for the content model.
- `models`: the models, one interface: `fit(interactions)`, `recommend(user_ids, k, exclude_seen=True)`.
- `evaluate`: the ranking metrics and the harness behind `medreach recommend evaluate`.
"""
