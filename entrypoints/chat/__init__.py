"""`tinktalker chat`: the terminal chat, model in-process."""
