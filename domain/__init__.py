"""The pure core: dialogue turns, context windows and the rules that keep prompts safe."""
