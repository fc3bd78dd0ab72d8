"""The in-process model: ruDialoGPT's prompt, loading, the torch generator and its warper, the
prompt meter."""
