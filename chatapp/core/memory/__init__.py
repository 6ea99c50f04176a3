"""Per-user memory: facts the user chose to keep, found in what they say (extract.py),
sorted into slots (slots.py), and brought into the prompt when relevant (retrieve.py)."""
