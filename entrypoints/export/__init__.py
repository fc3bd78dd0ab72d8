"""`tinktalker export`: a model folder that other engines (vLLM, TGI, transformers) serve as
TinkTalker does."""
