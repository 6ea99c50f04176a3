"""Feedback on replies: ratings, pairwise choices, corrections and the implicit signals
(regenerate, edit), kept per user per month (store/feedback.py), and exported as the data
sets alignment tools load as they are.

    records.py   FeedbackEvent (schema chatapp.feedback/1) and its parts
    log.py       FeedbackLog: record events, consent, stats, the practice leaderboard
    signals.py   which events count: the latest rating per reply, preference pairs
    export.py    raw, dpo, kto, sft and openai rows, validated; written with a card
    redact.py    e-mail addresses, keys, phone numbers, home paths, memory blocks
    report.py    what an export did, for the card and the CLI
    card.py      the dataset card (FILE.md) beside an export

Nothing is imported here: store/feedback.py imports records.py, and log.py imports the store.
"""
