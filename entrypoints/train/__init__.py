"""`tinktalker train`: the command's flags and how they drive the training/ pipeline."""
