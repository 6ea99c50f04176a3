"""Built-in prompt templates, one TOML file each (shipped in the wheel as chatapp.prompts)."""
